package devserver

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// devClusterID identifies the embedded cluster; the server wants a UUID.
const devClusterID = "5d0c4a56-7a3e-4b52-9d1e-2f6a0c1d8e11"

// Defaults of Config.
const (
	DefaultIP        = "127.0.0.1"
	DefaultPort      = 7233
	DefaultUIPort    = 8233
	DefaultNamespace = "default"
	// MemoryDB is the DBFile value that keeps everything in memory.
	MemoryDB = ":memory:"
)

// Config configures an embedded server. Only DBFile is required; zero ports
// are picked free (tests), so `drillctl dev` passes DefaultPort and
// DefaultUIPort, the ports the Temporal tools expect.
type Config struct {
	// DBFile is the SQLite file; MemoryDB keeps nothing. Its folder is
	// created when missing (0700), and the file 0600. Required.
	DBFile string
	// IP the frontend listens on; default DefaultIP. Without TLSDir it must
	// be a loopback address. The Web UI and the internal ports always
	// listen on loopback.
	IP string
	// Port of the frontend (gRPC); 0 picks a free port; DefaultPort is the
	// conventional one.
	Port int
	// UIPort of the Web UI; 0 picks a free port; negative (-1) means no UI;
	// DefaultUIPort is the conventional one.
	UIPort int
	// InternalPorts is the first of NumInternalPorts consecutive ports:
	// history, matching and worker (on loopback), then the frontend's HTTP
	// API (beside the frontend, behind the same TLS); 0 picks free ones.
	InternalPorts int
	// TLSDir turns on mutual TLS: the frontend (gRPC and HTTP) and the
	// internal ports accept only clients presenting a certificate signed by
	// the CA kept in this folder, made on first start and reused after
	// (LoadOrCreateCredentials). Empty: plaintext, on loopback only.
	TLSDir string
	// Namespace registered on first start; default DefaultNamespace.
	Namespace string
	// LogWriter receives the server's logs as text; nil discards them.
	// Ignored when Logger is set.
	LogWriter io.Writer
	// Logger receives the server's logs, tagged component=temporal-server,
	// when set: one logger for the server and the rest of the process.
	Logger *slog.Logger
	// LogLevel is the least severe level of the server's logs passed on:
	// debug, info, warn (default) or error. Logger may drop more.
	LogLevel string
	// Retention is how long the namespace keeps a closed workflow's
	// history (at least MinRetention); zero leaves it as it is (24 h when
	// the namespace is created). Evidence bundles outlive it.
	Retention time.Duration
	// DynamicConfig overrides dynamic config keys (server setting names,
	// any case); it wins over LowLatencyDynamicConfig and the feature
	// settings. A key the server does not know is ignored by the server.
	DynamicConfig map[string]any
	// SQLitePragmas override DefaultSQLitePragmas for a file database.
	SQLitePragmas map[string]string

	// serverDefaults runs with the server's own dynamic config and SQLite
	// pragmas instead of the low-latency ones: the benchmark's baseline.
	serverDefaults bool
}

// DefaultSQLitePragmas are the pragmas of a file database. WAL with
// synchronous=normal commits without waiting for the disk: a crash of the
// process loses nothing, a power cut may lose the last moments of history but
// never corrupts the file. Without them every step of a drill waits on
// several fsyncs; see BenchmarkSequentialActivity.
var DefaultSQLitePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "normal",
	// Wait for a lock (a second process on the same file) rather than fail.
	"busy_timeout": "5000",
}

// NumInternalPorts is how many ports Config.InternalPorts pins.
const NumInternalPorts = 4

// Server is a running embedded Temporal server (and Web UI).
type Server struct {
	cfg      Config
	ports    ports
	ip       net.IP // what the frontend listens on
	internal net.IP // loopback: the internal ports, the UI, the server's own clients
	frontend string // host:port clients dial
	listen   string // host:port the frontend listens on
	creds    *Credentials
	uiAddr   string
	server   temporal.Server
	ui       *uiserver.Server
	stopOnce sync.Once
	stopErr  error
}

// Start starts the server, registering the namespace on first start, and
// returns once the frontend accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DBFile == "" {
		return nil, errors.New("devserver: no database file (use devserver.MemoryDB for none)")
	}
	ip, err := listenIP(cfg.IP)
	if err != nil {
		return nil, err
	}
	cfg.IP = ip.String()
	if cfg.TLSDir == "" && !ip.IsLoopback() {
		return nil, fmt.Errorf("devserver: refusing to listen on %s without TLS: anyone who reaches it could start "+
			"drills whose steps run as this user; turn TLS on, or listen on %s", cfg.IP, DefaultIP)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Port < 0 || cfg.Port > 65535 || cfg.UIPort > 65535 {
		return nil, fmt.Errorf("devserver: ports must be within 0-65535 (got --port %d, --ui-port %d)", cfg.Port, cfg.UIPort)
	}
	if cfg.InternalPorts < 0 || cfg.InternalPorts+NumInternalPorts-1 > 65535 {
		return nil, fmt.Errorf("devserver: internal ports %d-%d are not within 1-65535",
			cfg.InternalPorts, cfg.InternalPorts+NumInternalPorts-1)
	}
	if cfg.Retention != 0 && cfg.Retention < MinRetention {
		return nil, fmt.Errorf("devserver: retention %s is less than the server allows for a namespace (%s)", cfg.Retention, MinRetention)
	}
	if cfg.UIPort > 0 && cfg.UIPort == cfg.Port {
		return nil, fmt.Errorf("devserver: the frontend and the Web UI cannot share port %d; pick another with --ui-port", cfg.Port)
	}
	internal := loopbackFor(ip)
	p, err := reservePorts(ip.String(), internal.String(), cfg.Port, cfg.UIPort, cfg.InternalPorts)
	if err != nil {
		return nil, err
	}
	cfg.Port, cfg.UIPort = p.frontend, p.ui
	dialIP := ip
	if ip.IsUnspecified() { // every interface: the server's own clients use loopback
		dialIP = internal
	}
	s := &Server{cfg: cfg, ports: p, ip: ip, internal: internal,
		frontend: net.JoinHostPort(dialIP.String(), strconv.Itoa(cfg.Port)),
		listen:   net.JoinHostPort(ip.String(), strconv.Itoa(cfg.Port))}
	if cfg.TLSDir != "" {
		if s.creds, err = LoadOrCreateCredentials(cfg.TLSDir, certificateHosts(ip)); err != nil {
			return nil, err
		}
	}

	conf, err := s.serverConfig()
	if err != nil {
		return nil, err
	}
	logger := newLogger(cfg)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	dyn := dynamicConfig(!cfg.serverDefaults, cfg.DynamicConfig)
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(s.frontend),
	}
	for _, svc := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(internal.String(), strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	s.server, err = temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: build server: %w", err)
	}
	if err := s.server.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start server: %w", err)
	}
	if err := waitListening(ctx, s.frontend, 30*time.Second); err != nil {
		s.server.Stop()
		return nil, fmt.Errorf("devserver: frontend %s: %w", s.frontend, err)
	}
	if err := s.setUpNamespace(ctx); err != nil {
		s.server.Stop()
		return nil, err
	}
	if cfg.UIPort >= 0 {
		if err := s.startUI(ctx); err != nil {
			s.server.Stop()
			return nil, err
		}
	}
	if s.creds != nil {
		if err := recordAddress(s.creds.Dir, s.frontend); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// serverConfig builds the server's static config: one host, SQLite
// persistence and visibility, one history shard.
func (s *Server) serverConfig() (*config.Config, error) {
	sqlConf, err := s.sqlConfig()
	if err != nil {
		return nil, err
	}
	httpPort := s.ports.frontendHTTP
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = s.internal.String()
	if s.creds != nil {
		conf.Global.TLS = s.rootTLS()
	}
	conf.Persistence.DefaultStore = "sqlite-default"
	conf.Persistence.VisibilityStore = "sqlite-default"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite-default": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{"active": {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             s.frontend,
			HTTPAddress:            s.frontendHTTP(),
			ClusterID:              devClusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for name, port := range map[string]int{"frontend": s.ports.frontend, "history": s.ports.history,
		"matching": s.ports.matching, "worker": s.ports.worker} {
		var svc config.Service
		// Only the frontend faces clients; history, matching and the
		// worker service talk to each other on loopback.
		svc.RPC.BindOnIP = s.internal.String()
		svc.RPC.GRPCPort = port
		if name == "frontend" {
			svc.RPC.BindOnIP = s.ip.String()
			svc.RPC.HTTPPort = httpPort
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = s.frontend
	conf.PublicClient.HTTPHostPort = s.frontendHTTP()
	return &conf, nil
}

// sqlConfig returns the SQLite store, setting up the schema when the file
// is new and registering the namespace when it is missing.
func (s *Server) sqlConfig() (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if s.cfg.DBFile == MemoryDB {
		// The sqlite plugin sets up the schema of an in-memory database itself.
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = "drillctl-" + strconv.Itoa(rand.IntN(1<<30))
	} else {
		// Keys that are not SQLite URI parameters become pragmas.
		conf.ConnectAttributes = map[string]string{"mode": "rwc"}
		if !s.cfg.serverDefaults {
			maps.Copy(conf.ConnectAttributes, DefaultSQLitePragmas)
		}
		maps.Copy(conf.ConnectAttributes, s.cfg.SQLitePragmas)
		conf.DatabaseName = s.cfg.DBFile
		fresh, err := prepareDBFile(s.cfg.DBFile)
		if err != nil {
			return nil, err
		}
		if fresh {
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devserver: set up the schema in %s: %w", s.cfg.DBFile, err)
			}
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig("active", s.cfg.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %s: %w", s.cfg.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("devserver: register namespace %s: %w", s.cfg.Namespace, err)
	}
	return conf, nil
}

// startUI starts the Web UI in the background. The UI server ends the
// process when it cannot listen, so the port was checked free before, and
// Start returns only once the UI answers.
func (s *Server) startUI(ctx context.Context) error {
	host := s.internal.String()
	// Check again: the port was free before the server started, but the
	// UI server would end the process if something took it since.
	if err := checkFree(host, s.cfg.UIPort, "--ui-port"); err != nil {
		return err
	}
	conf := &uiconfig.Config{
		Host:                host,
		Port:                s.cfg.UIPort,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}
	if c := s.creds; c != nil {
		// The UI has no login: whoever reaches its port acts with its
		// certificate. It listens on loopback only, and reads only, so
		// another user of this machine cannot start, signal, update or
		// terminate a drill through it.
		conf.TLS = uiconfig.TLS{
			CaData:                 base64.StdEncoding.EncodeToString(c.CACert),
			CertData:               base64.StdEncoding.EncodeToString(c.ClientCert),
			KeyData:                base64.StdEncoding.EncodeToString(c.ClientKey),
			ServerName:             tlsServerName,
			EnableHostVerification: true,
		}
		conf.DisableWriteActions = true
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(conf))
	go func() { _ = s.ui.Start() }()
	addr := net.JoinHostPort(host, strconv.Itoa(s.cfg.UIPort))
	if err := waitListening(ctx, addr, 30*time.Second); err != nil {
		return fmt.Errorf("devserver: Web UI on %s: %w", addr, err)
	}
	s.uiAddr = "http://" + addr
	return nil
}

// FrontendAddress is the host:port clients and workers dial: the IP of
// Config, or loopback when it listens on every interface.
func (s *Server) FrontendAddress() string { return s.frontend }

// ListenAddress is the host:port the frontend listens on.
func (s *Server) ListenAddress() string { return s.listen }

// Credentials are the CA and certificates of the server's mutual TLS, or
// nil when it runs without TLS.
func (s *Server) Credentials() *Credentials { return s.creds }

// InternalAddresses are the history, matching and worker services'
// host:ports, and the frontend's HTTP API's.
func (s *Server) InternalAddresses() []string {
	out := []string{}
	for _, p := range []int{s.ports.history, s.ports.matching, s.ports.worker} {
		out = append(out, net.JoinHostPort(s.internal.String(), strconv.Itoa(p)))
	}
	return append(out, net.JoinHostPort(s.ip.String(), strconv.Itoa(s.ports.frontendHTTP)))
}

// frontendHTTP is the host:port the server's own clients reach the
// frontend's HTTP API on.
func (s *Server) frontendHTTP() string {
	host, _, _ := net.SplitHostPort(s.frontend)
	return net.JoinHostPort(host, strconv.Itoa(s.ports.frontendHTTP))
}

// UIAddress is the Web UI's URL, or "" when it does not run.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace is the namespace the server registered.
func (s *Server) Namespace() string { return s.cfg.Namespace }

// Stop shuts the UI and the server down; it is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
		}
		if s.server != nil {
			s.stopErr = s.server.Stop()
		}
	})
	return s.stopErr
}

// waitListening waits until something accepts TCP connections on addr.
func waitListening(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// newLogger adapts slog to the server's logger: cfg.Logger (tagged
// component=temporal-server) or a text logger on cfg.LogWriter, passing
// what is at least at cfg.LogLevel.
func newLogger(cfg Config) *serverLogger {
	var lvl slog.Level
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelWarn
	}
	if cfg.Logger != nil {
		return &serverLogger{log: cfg.Logger.With("component", "temporal-server"), floor: lvl}
	}
	w := cfg.LogWriter
	if w == nil {
		w = io.Discard
	}
	return &serverLogger{log: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), floor: lvl}
}
