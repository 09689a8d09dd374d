package cli

import (
	"context"
	"errors"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/worker"
)

// connectionFlags are the flags of every command that talks to Temporal.
// Unset, each is taken from Temporal's client configuration as the Temporal
// CLI reads it: the TEMPORAL_* environment variables, over the profile
// (--profile, $TEMPORAL_PROFILE) of temporal.toml (--config-file,
// $TEMPORAL_CONFIG_FILE). With no TLS setting anywhere, a loopback address
// gets the client certificate `drillctl dev` generated, when there is one
// (worker.Connection.TLS).
func connectionFlags() []ucli.Flag {
	const cat = "Temporal connection"
	return []ucli.Flag{
		&ucli.StringFlag{Name: "address", EnvVars: []string{"TEMPORAL_ADDRESS"}, Category: cat,
			Usage: "Temporal frontend `HOST:PORT` (default: the profile's, else " + worker.DefaultAddress + ")"},
		&ucli.StringFlag{Name: "namespace", Aliases: []string{"n"}, EnvVars: []string{"TEMPORAL_NAMESPACE"}, Category: cat,
			Usage: "Temporal namespace (default: the profile's, else default)"},
		&ucli.StringFlag{Name: "tls-cert", EnvVars: []string{"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CERT"}, Category: cat,
			Usage: "client certificate `FILE` (mTLS)"},
		&ucli.StringFlag{Name: "tls-key", EnvVars: []string{"TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_KEY"}, Category: cat,
			Usage: "client key `FILE` (mTLS)"},
		&ucli.StringFlag{Name: "tls-ca", EnvVars: []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CA"}, Category: cat,
			Usage: "CA bundle `FILE` of the server's certificate"},
		&ucli.StringFlag{Name: "tls-server-name", EnvVars: []string{"TEMPORAL_TLS_SERVER_NAME"}, Category: cat,
			Usage: "server name to verify"},
		&ucli.StringFlag{Name: "api-key", EnvVars: []string{"TEMPORAL_API_KEY"}, Category: cat,
			Usage: "API key (Temporal Cloud); implies TLS"},
		&ucli.BoolFlag{Name: "tls", EnvVars: []string{"TEMPORAL_TLS"}, Category: cat,
			Usage: "TLS on or off; --tls=false speaks plaintext (to drillctl dev --insecure) " +
				"(default: on with any TLS setting or an API key; for a loopback address, mutual TLS with the client certificate drillctl dev generated, when there is one)"},
		&ucli.StringFlag{Name: "profile", EnvVars: []string{"TEMPORAL_PROFILE"}, Category: cat,
			Usage: "`NAME` of the profile in the Temporal CLI's config file (default: default)"},
		&ucli.StringFlag{Name: "config-file", EnvVars: []string{"TEMPORAL_CONFIG_FILE"}, Category: cat,
			Usage: "the Temporal CLI's config `FILE` of profiles (default: ~/.config/temporalio/temporal.toml)"},
	}
}

// connection reads the connection flags. What they leave unset comes from
// Temporal's client configuration (worker.Connection.Environment).
func connection(c *ucli.Context) worker.Connection {
	var useTLS *bool
	if c.IsSet("tls") {
		on := c.Bool("tls")
		useTLS = &on
	}
	return worker.Connection{
		Address:     c.String("address"),
		Namespace:   c.String("namespace"),
		TLSCert:     c.String("tls-cert"),
		TLSKey:      c.String("tls-key"),
		TLSCA:       c.String("tls-ca"),
		TLSServer:   c.String("tls-server-name"),
		APIKey:      c.String("api-key"),
		TLS:         useTLS,
		Environment: true,
		Profile:     c.String("profile"),
		ConfigFile:  c.String("config-file"),
		Logger:      clientLogger(c),
	}
}

// dial connects to Temporal, turning a failure into a usage error with a hint.
func dial(ctx context.Context, c *ucli.Context) (worker.Client, error) {
	return dialWith(ctx, connection(c))
}

// dialWith connects with conn, turning a failure into a usage error with a hint.
func dialWith(ctx context.Context, conn worker.Connection) (worker.Client, error) {
	cl, err := worker.Dial(ctx, conn)
	if err != nil {
		hint := ""
		if opts, optsErr := conn.ClientOptions(); optsErr == nil && opts.HostPort == worker.DefaultAddress &&
			!errors.Is(err, worker.ErrCertificateRequired) {
			hint = "\n  is the embedded server running? start one with: drillctl dev"
		}
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w%s", err, hint)}
	}
	return cl, nil
}

// target is the address and namespace a connection resolves to, for
// messages.
func target(conn worker.Connection) (address, namespace string) {
	opts, err := conn.ClientOptions()
	if err != nil {
		return conn.Address, conn.Namespace
	}
	return opts.HostPort, opts.Namespace
}
