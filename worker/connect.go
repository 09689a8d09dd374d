package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
)

// Client is a Temporal client.
type Client = client.Client

// DefaultAddress is the embedded dev server's frontend address.
const DefaultAddress = "127.0.0.1:7233"

// Connection says how to reach a Temporal frontend.
type Connection struct {
	Address   string // host:port; default DefaultAddress
	Namespace string // default "default"
	TLSCert   string // client certificate file (mTLS)
	TLSKey    string // client key file (mTLS)
	TLSCA     string // CA bundle that signed the server's certificate
	TLSServer string // server name to verify, when it differs from the address host
	APIKey    string // Temporal Cloud API key; implies TLS
	// Logger receives the SDK's logs; nil keeps them quiet (warnings and up on stderr).
	Logger *slog.Logger
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
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", conn.Address, conn.Namespace, err)
	}
	return c, nil
}

func (conn Connection) tlsConfig() (*tls.Config, error) {
	if conn.TLSCert == "" && conn.TLSKey == "" && conn.TLSCA == "" && conn.APIKey == "" && conn.TLSServer == "" {
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
