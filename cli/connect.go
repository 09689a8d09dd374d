package cli

import (
	"context"
	"errors"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/worker"
)

// connectionFlags are the flags of every command that talks to Temporal,
// also read from Temporal's usual environment variables. With none of the
// TLS flags, a loopback address gets the client certificate `drillctl dev`
// generated, when there is one (worker.Connection.TLS).
func connectionFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "address", Value: worker.DefaultAddress, EnvVars: []string{"TEMPORAL_ADDRESS"},
			Usage: "Temporal frontend host:port", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Value: "default", EnvVars: []string{"TEMPORAL_NAMESPACE"},
			Usage: "Temporal namespace", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "tls-cert", EnvVars: []string{"TEMPORAL_TLS_CERT"}, Usage: "client certificate file (mTLS)", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "tls-key", EnvVars: []string{"TEMPORAL_TLS_KEY"}, Usage: "client key file (mTLS)", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "tls-ca", EnvVars: []string{"TEMPORAL_TLS_CA"}, Usage: "CA bundle of the server's certificate", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "tls-server-name", EnvVars: []string{"TEMPORAL_TLS_SERVER_NAME"}, Usage: "server name to verify", Category: "Temporal connection"},
		&ucli.StringFlag{Name: "api-key", EnvVars: []string{"TEMPORAL_API_KEY"}, Usage: "API key (Temporal Cloud); implies TLS", Category: "Temporal connection"},
		&ucli.BoolFlag{Name: "tls", EnvVars: []string{"TEMPORAL_TLS"}, Category: "Temporal connection",
			Usage: "TLS on or off; --tls=false speaks plaintext (to drillctl dev --insecure) " +
				"(default: on with any TLS flag or an API key; for a loopback address, mutual TLS with the client certificate drillctl dev generated, when there is one)"},
	}
}

// connection reads the connection flags.
func connection(c *ucli.Context) worker.Connection {
	var useTLS *bool
	if c.IsSet("tls") {
		on := c.Bool("tls")
		useTLS = &on
	}
	return worker.Connection{
		Address:   c.String("address"),
		Namespace: c.String("namespace"),
		TLSCert:   c.String("tls-cert"),
		TLSKey:    c.String("tls-key"),
		TLSCA:     c.String("tls-ca"),
		TLSServer: c.String("tls-server-name"),
		APIKey:    c.String("api-key"),
		TLS:       useTLS,
	}
}

// dial connects to Temporal, turning a failure into a usage error with a hint.
func dial(ctx context.Context, c *ucli.Context) (worker.Client, error) {
	conn := connection(c)
	cl, err := worker.Dial(ctx, conn)
	if err != nil {
		hint := ""
		if conn.Address == worker.DefaultAddress && !errors.Is(err, worker.ErrCertificateRequired) {
			hint = "\n  is the embedded server running? start one with: drillctl dev"
		}
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w%s", err, hint)}
	}
	return cl, nil
}
