package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// Client is a Temporal client.
type Client = client.Client

// DefaultAddress is the embedded dev server's frontend address.
const DefaultAddress = "127.0.0.1:7233"

// StateDirEnv names the environment variable that moves drillctl's state
// directory; devserver.StateDirEnv is the same, so clients look where
// `drillctl dev` writes.
const StateDirEnv = "DRILLCTL_STATE_DIR"

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

// Connection says how to reach a Temporal frontend.
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
	// option or an API key is given; with none, for a loopback address
	// `drillctl dev` served with mutual TLS, its client certificate (in
	// DevTLSDir); else plaintext.
	TLS *bool
	// Logger receives the SDK's logs; nil keeps them quiet (warnings and up on stderr).
	Logger *slog.Logger
}

// StateDir is drillctl's state directory, by devserver.StateDir's rules:
// $DRILLCTL_STATE_DIR when set, else drillctl under $XDG_STATE_HOME or
// ~/.local/state.
func StateDir() (string, error) {
	if dir := os.Getenv(StateDirEnv); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("find the state directory: %s=%s: %w", StateDirEnv, dir, err)
		}
		return abs, nil
	}
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
	return filepath.Join(dir, "drillctl"), nil
}

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
	if conn.Address == "" {
		conn.Address = DefaultAddress
	}
	if conn.Namespace == "" {
		conn.Namespace = "default"
	}
	logger := conn.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opts := client.Options{
		HostPort:  conn.Address,
		Namespace: conn.Namespace,
		Logger:    log.NewStructuredLogger(logger),
	}
	conn, looked := conn.withDevCertificate()
	tlsConfig, err := conn.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tlsConfig != nil {
		opts.ConnectionOptions.TLS = tlsConfig
	}
	if conn.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(conn.APIKey)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		err = fmt.Errorf("connect to Temporal at %s (namespace %s): %w", conn.Address, conn.Namespace, err)
		return nil, conn.explain(err, looked, tlsConfig == nil)
	}
	return c, nil
}

// withDevCertificate fills in the client certificate `drillctl dev`
// generated when nothing was said about TLS and the address is a loopback
// one dev served with it. It returns the folder it looked in ("" when it
// did not look). Anything explicit wins; a server elsewhere never gets it.
//
// Once dev served an address with TLS, a plaintext server there is not
// trusted without --tls=false: it may be someone else's, on this machine,
// waiting for a worker to hand commands to.
func (conn Connection) withDevCertificate() (Connection, string) {
	if conn.TLS != nil || conn.TLSCert != "" || conn.TLSKey != "" || conn.TLSCA != "" ||
		conn.TLSServer != "" || conn.APIKey != "" || !loopbackAddress(conn.Address) {
		return conn, ""
	}
	dir, err := DevTLSDir()
	if err != nil {
		return conn, ""
	}
	if !devServed(dir, conn.Address) {
		return conn, dir
	}
	files := []string{filepath.Join(dir, devCertFile), filepath.Join(dir, devKeyFile), filepath.Join(dir, devCAFile)}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return conn, dir
		}
	}
	conn.TLSCert, conn.TLSKey, conn.TLSCA = files[0], files[1], files[2]
	return conn, dir
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
// plaintext to a client offered the dev certificate. looked is the folder
// withDevCertificate looked in.
func (conn Connection) explain(err error, looked string, plaintext bool) error {
	listening, speaksTLS, wantsCert := probeTLS(conn.Address)
	switch {
	case !listening:
		return err
	case wantsCert && conn.TLSCert == "" && looked != "":
		found := "none was found in " + looked
		if _, statErr := os.Stat(filepath.Join(looked, devCertFile)); statErr == nil {
			found = fmt.Sprintf("the one in %s is for the addresses listed in %s only", looked, devAddressesFile)
		}
		return fmt.Errorf("connect to Temporal at %s: %w and %s: "+
			"run drillctl dev first, or pass --tls-cert/--tls-key/--tls-ca", conn.Address, ErrCertificateRequired, found)
	case wantsCert && conn.TLSCert == "":
		return fmt.Errorf("connect to Temporal at %s: %w and none was given: pass --tls-cert/--tls-key/--tls-ca",
			conn.Address, ErrCertificateRequired)
	case speaksTLS && plaintext:
		return fmt.Errorf("%w\n  the server at %s speaks TLS: pass --tls-ca (or --tls), not --tls=false", err, conn.Address)
	case !speaksTLS && !plaintext && looked != "":
		return fmt.Errorf("%w\n  the server at %s does not speak TLS, but drillctl dev served this address with mutual TLS "+
			"(client certificate in %s); if you trust it (drillctl dev --insecure), connect with --tls=false (TEMPORAL_TLS=false)",
			err, conn.Address, looked)
	case !speaksTLS && !plaintext:
		return fmt.Errorf("%w\n  the server at %s does not speak TLS", err, conn.Address)
	case looked != "" && conn.TLSCert != "":
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

func (conn Connection) tlsConfig() (*tls.Config, error) {
	anyOption := conn.TLSCert != "" || conn.TLSKey != "" || conn.TLSCA != "" || conn.APIKey != "" || conn.TLSServer != ""
	if conn.TLS != nil && !*conn.TLS {
		if anyOption {
			return nil, fmt.Errorf("TLS: --tls=false contradicts --tls-cert, --tls-key, --tls-ca, --tls-server-name and --api-key")
		}
		return nil, nil
	}
	if !anyOption && conn.TLS == nil {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: conn.TLSServer}
	if (conn.TLSCert == "") != (conn.TLSKey == "") {
		return nil, fmt.Errorf("TLS: --tls-cert and --tls-key go together")
	}
	if conn.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(conn.TLSCert, conn.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS: load client certificate %s: %w", conn.TLSCert, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if conn.TLSCA != "" {
		pem, err := os.ReadFile(conn.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("TLS: read CA %s: %w", conn.TLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS: %s holds no PEM certificate", conn.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
