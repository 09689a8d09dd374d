package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/log"

	"github.com/drillctl/drillctl/statedir"
)

// Client is a Temporal client.
type Client = client.Client

// DefaultAddress is the embedded dev server's frontend address.
const DefaultAddress = "127.0.0.1:7233"

// StateDirEnv names the environment variable that moves drillctl's state
// directory (see package statedir).
const StateDirEnv = statedir.Env

// The files `drillctl dev` generates for its clients in DevTLSDir
// (devserver.CACertFile, ClientCertFile, ClientKeyFile, AddressesFile).
const (
	devCAFile        = "ca.pem"
	devCertFile      = "client.pem"
	devKeyFile       = "client-key.pem"
	devAddressesFile = "addresses" // the frontend addresses dev served with them
)

// ErrCertificateRequired is why Dial fails when the server asks for a
// client certificate and none was given or found.
var ErrCertificateRequired = errors.New("the server requires a client certificate (mutual TLS)")

// Connection says how to reach a Temporal frontend. Fields left empty are
// taken, when Environment is set, from Temporal's client configuration —
// the profile of the Temporal CLI's temporal.toml, then its environment
// variables (TEMPORAL_ADDRESS, TEMPORAL_TLS_CLIENT_CERT_PATH, …) — and
// otherwise from the defaults. Fields set here win.
type Connection struct {
	Address   string // host:port; default DefaultAddress
	Namespace string // default "default"
	TLSCert   string // client certificate file (mTLS)
	TLSKey    string // client key file (mTLS)
	TLSCA     string // CA bundle that signed the server's certificate
	TLSServer string // server name to verify, when it differs from the address host
	APIKey    string // Temporal Cloud API key; implies TLS
	// TLS turns TLS on (true; the system's CAs unless TLSCA is given) or
	// off (false) whatever else is set. Nil decides: TLS when any TLS
	// option or an API key is given (here or in the client configuration);
	// with none, for a loopback address `drillctl dev` served with mutual
	// TLS, its client certificate (in DevTLSDir); else plaintext.
	TLS *bool
	// Environment starts from Temporal's client configuration, as the
	// Temporal CLI and SDKs read it (package envconfig): the profile
	// Profile of ConfigFile, then the TEMPORAL_* environment variables.
	Environment bool
	// Profile names the profile; "" is $TEMPORAL_PROFILE, else "default".
	Profile string
	// ConfigFile is the TOML file of profiles; "" is $TEMPORAL_CONFIG_FILE,
	// else the Temporal CLI's own (os.UserConfigDir()/temporalio/temporal.toml).
	// A file named here must exist.
	ConfigFile string
	// LookupEnv reads the environment for Environment; nil is the
	// process's. An empty variable counts as unset.
	LookupEnv func(string) (string, bool)
	// Logger receives the SDK's logs; nil keeps them quiet (warnings and up on stderr).
	Logger *slog.Logger
	// Metrics receives the SDK's metrics (client and worker); nil: none.
	Metrics client.MetricsHandler
}

// StateDir is drillctl's state directory, where dev writes its
// certificates (statedir.Dir).
func StateDir() (string, error) { return statedir.Dir() }

// DevTLSDir is where `drillctl dev` keeps its CA and certificates
// (devserver.DefaultTLSDir).
func DevTLSDir() (string, error) {
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "tls"), nil
}

// Dial connects to Temporal and checks the connection answers.
func Dial(ctx context.Context, conn Connection) (Client, error) {
	r, err := conn.resolve()
	if err != nil {
		return nil, err
	}
	opts, err := r.clientOptions(conn)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		err = fmt.Errorf("connect to Temporal at %s (namespace %s): %w", r.prof.Address, r.prof.Namespace, err)
		return nil, r.explain(err)
	}
	return c, nil
}

// ClientOptions are the SDK options Dial connects with: the address,
// namespace, TLS and credentials the connection resolves to.
func (conn Connection) ClientOptions() (client.Options, error) {
	r, err := conn.resolve()
	if err != nil {
		return client.Options{}, err
	}
	return r.clientOptions(conn)
}

// clientOptions turns the resolved profile into SDK options, with the
// connection's logger and metrics.
func (r resolved) clientOptions(conn Connection) (client.Options, error) {
	opts, err := r.prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("TLS: %w", err)
	}
	if t := opts.ConnectionOptions.TLS; t != nil {
		t.MinVersion = tls.VersionTLS12
	}
	logger := conn.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opts.Logger = log.NewStructuredLogger(logger)
	opts.MetricsHandler = conn.Metrics
	return opts, nil
}

// devServed reports whether dev recorded serving addr (a loopback
// address) with the certificates in dir: the same address, or another
// loopback name for the same port.
func devServed(dir, addr string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, devAddressesFile))
	if err != nil {
		return false
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, served := range strings.Fields(string(raw)) {
		if _, p, err := net.SplitHostPort(served); err == nil && p == port && loopbackAddress(served) {
			return true
		}
	}
	return false
}

// explain adds what to do to a failed dial when the server's TLS and the
// connection's did not match: it wants a client certificate and none was
// given or found, it speaks TLS to a plaintext client, or it speaks
// plaintext to a client offered the dev certificate.
func (r resolved) explain(err error) error {
	addr, looked := r.prof.Address, r.looked
	hasCert := r.prof.TLS != nil && (r.prof.TLS.ClientCertPath != "" || len(r.prof.TLS.ClientCertData) > 0)
	listening, speaksTLS, wantsCert := probeTLS(addr)
	switch {
	case !listening:
		return err
	case wantsCert && !hasCert && looked != "":
		found := "none was found in " + looked
		if _, statErr := os.Stat(filepath.Join(looked, devCertFile)); statErr == nil {
			found = fmt.Sprintf("the one in %s is for the addresses listed in %s only", looked, devAddressesFile)
		}
		return fmt.Errorf("connect to Temporal at %s: %w and %s: "+
			"run drillctl dev first, or pass --tls-cert/--tls-key/--tls-ca", addr, ErrCertificateRequired, found)
	case wantsCert && !hasCert:
		return fmt.Errorf("connect to Temporal at %s: %w and none was given: pass --tls-cert/--tls-key/--tls-ca "+
			"(or TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH)",
			addr, ErrCertificateRequired)
	case speaksTLS && r.plaintext():
		return fmt.Errorf("%w\n  the server at %s speaks TLS: pass --tls-ca (or --tls), not --tls=false", err, addr)
	case !speaksTLS && !r.plaintext() && r.devCert:
		return fmt.Errorf("%w\n  the server at %s does not speak TLS, but drillctl dev served this address with mutual TLS "+
			"(client certificate in %s); if you trust it (drillctl dev --insecure), connect with --tls=false (TEMPORAL_TLS=false)",
			err, addr, looked)
	case !speaksTLS && !r.plaintext():
		return fmt.Errorf("%w\n  the server at %s does not speak TLS", err, addr)
	case r.devCert:
		return fmt.Errorf("%w\n  (with the client certificate of drillctl dev in %s)", err, looked)
	}
	return err
}

// probeTLS reports whether something listens on addr, whether it answers
// a TLS handshake, and whether it wants a client certificate. It only
// chooses an error message: it offers no certificate, verifies nothing and
// sends nothing over the connection.
func probeTLS(addr string) (listening, speaksTLS, wantsCert bool) {
	raw, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false, false, false
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(2 * time.Second))
	// InsecureSkipVerify: the handshake only tells what the server speaks.
	conn := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec
	certAlert := func(err error) bool {
		return strings.Contains(err.Error(), "certificate required") || strings.Contains(err.Error(), "bad certificate")
	}
	if err := conn.Handshake(); err != nil { // TLS 1.2 refuses a missing certificate here
		return true, strings.Contains(err.Error(), "remote error: tls"), certAlert(err)
	}
	// TLS 1.3 refuses it after the handshake, in an alert.
	_ = raw.SetDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	return true, true, err != nil && certAlert(err)
}

// loopbackAddress reports whether host:port names this machine only.
func loopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
