package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
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
	// created when missing. Required.
	DBFile string
	// IP to listen on; default DefaultIP.
	IP string
	// Port of the frontend (gRPC); 0 picks a free port; DefaultPort is the
	// conventional one.
	Port int
	// UIPort of the Web UI; 0 picks a free port; negative (-1) means no UI;
	// DefaultUIPort is the conventional one.
	UIPort int
	// Namespace registered on first start; default DefaultNamespace.
	Namespace string
	// LogWriter receives the server's logs; nil discards them.
	LogWriter io.Writer
	// LogLevel of the server's logs: debug, info, warn (default) or error.
	LogLevel string
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

// Server is a running embedded Temporal server (and Web UI).
type Server struct {
	cfg      Config
	ports    ports
	frontend string
	uiAddr   string
	server   temporal.Server
	ui       *uiserver.Server
	stopOnce sync.Once
	stopErr  error
}

// DefaultDBFile is where `drillctl dev` keeps its SQLite file: under the
// user's state directory ($XDG_STATE_HOME, or ~/.local/state).
func DefaultDBFile() (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) { // the XDG spec says to ignore a relative path
		dir = ""
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "drillctl", "temporal.db"), nil
}

// Start starts the server, registering the namespace on first start, and
// returns once the frontend accepts connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DBFile == "" {
		return nil, errors.New("devserver: no database file (use devserver.MemoryDB for none)")
	}
	if cfg.IP == "" {
		cfg.IP = DefaultIP
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Port < 0 || cfg.Port > 65535 || cfg.UIPort > 65535 {
		return nil, fmt.Errorf("devserver: ports must be within 0-65535 (got --port %d, --ui-port %d)", cfg.Port, cfg.UIPort)
	}
	if cfg.UIPort > 0 && cfg.UIPort == cfg.Port {
		return nil, fmt.Errorf("devserver: the frontend and the Web UI cannot share port %d; pick another with --ui-port", cfg.Port)
	}
	p, err := reservePorts(cfg.IP, cfg.Port, cfg.UIPort)
	if err != nil {
		return nil, err
	}
	cfg.Port, cfg.UIPort = p.frontend, p.ui
	s := &Server{cfg: cfg, ports: p, frontend: net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.Port))}

	conf, err := s.serverConfig()
	if err != nil {
		return nil, err
	}
	logger := newLogger(cfg.LogWriter, cfg.LogLevel)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	dyn := dynamicConfig(!cfg.serverDefaults, cfg.DynamicConfig)
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, svc := range []primitives.ServiceName{primitives.FrontendService, primitives.HistoryService,
		primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort(cfg.IP, strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
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
	if cfg.UIPort >= 0 {
		if err := s.startUI(ctx); err != nil {
			s.server.Stop()
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
	conf.Global.Membership.BroadcastAddress = s.cfg.IP
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
			HTTPAddress:            net.JoinHostPort(s.cfg.IP, strconv.Itoa(httpPort)),
			ClusterID:              devClusterID,
		}},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for name, port := range map[string]int{"frontend": s.ports.frontend, "history": s.ports.history,
		"matching": s.ports.matching, "worker": s.ports.worker} {
		var svc config.Service
		svc.RPC.BindOnIP = s.cfg.IP
		svc.RPC.GRPCPort = port
		if name == "frontend" {
			svc.RPC.HTTPPort = httpPort
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = s.frontend
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
		if _, err := os.Stat(s.cfg.DBFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(s.cfg.DBFile), 0o755); err != nil {
				return nil, fmt.Errorf("devserver: create the database folder: %w", err)
			}
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("devserver: set up the schema in %s: %w", s.cfg.DBFile, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("devserver: %w", err)
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
	// Check again: the port was free before the server started, but the
	// UI server would end the process if something took it since.
	if err := checkFree(s.cfg.IP, s.cfg.UIPort, "--ui-port"); err != nil {
		return err
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                s.cfg.IP,
		Port:                s.cfg.UIPort,
		TemporalGRPCAddress: s.frontend,
		EnableUI:            true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	go func() { _ = s.ui.Start() }()
	addr := net.JoinHostPort(s.cfg.IP, strconv.Itoa(s.cfg.UIPort))
	if err := waitListening(ctx, addr, 30*time.Second); err != nil {
		return fmt.Errorf("devserver: Web UI on %s: %w", addr, err)
	}
	s.uiAddr = "http://" + addr
	return nil
}

// FrontendAddress is the host:port clients and workers dial.
func (s *Server) FrontendAddress() string { return s.frontend }

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

// newLogger adapts slog to the server's logger, at the given level.
func newLogger(w io.Writer, level string) *serverLogger {
	if w == nil {
		w = io.Discard
	}
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelWarn
	}
	return &serverLogger{log: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))}
}
