package cli

import (
	"context"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/worker"
)

// connectionFlags are the flags of every command that talks to Temporal,
// also read from Temporal's usual environment variables.
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
	}
}

// connection reads the connection flags.
func connection(c *ucli.Context) worker.Connection {
	return worker.Connection{
		Address:   c.String("address"),
		Namespace: c.String("namespace"),
		TLSCert:   c.String("tls-cert"),
		TLSKey:    c.String("tls-key"),
		TLSCA:     c.String("tls-ca"),
		TLSServer: c.String("tls-server-name"),
		APIKey:    c.String("api-key"),
	}
}

// dial connects to Temporal, turning a failure into a usage error with a hint.
func dial(ctx context.Context, c *ucli.Context) (worker.Client, error) {
	conn := connection(c)
	cl, err := worker.Dial(ctx, conn)
	if err != nil {
		hint := ""
		if conn.Address == worker.DefaultAddress {
			hint = "\n  is the embedded server running? start one with: drillctl dev"
		}
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w%s", err, hint)}
	}
	return cl, nil
}
