package cli

import (
	"fmt"
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/worker"
)

func init() { commandGroups = append(commandGroups, workerCommand, devCommand) }

func workerCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "worker",
		Usage: "run a drillctl worker against a Temporal cluster",
		Description: `Runs the Drill workflow and every step activity on the "drillctl" task
queue until interrupted. Secrets (${env:NAME}) are resolved from this
process's environment, so run it where the secrets live.

Examples:
   drillctl worker                                   # the embedded server on 127.0.0.1:7233
   drillctl worker --address temporal.internal:7233 --namespace dr \
       --tls-cert client.pem --tls-key client.key --tls-ca ca.pem
   TEMPORAL_API_KEY=... drillctl worker --address my-ns.a1b2c.tmprl.cloud:7233 --namespace my-ns.a1b2c`,
		Flags: append(append(append(connectionFlags(), evidenceFlags()...), ackFlags("")...), drainFlag()),
		Action: func(c *ucli.Context) error {
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			cl, err := dial(c.Context, c)
			if err != nil {
				return err
			}
			defer cl.Close()
			stopAck, err := startAckServer(c, cl, acts)
			if err != nil {
				return err
			}
			defer stopAck()
			w := worker.New(cl, worker.Options{Activities: acts, Drain: c.Duration("drain")})
			if err := w.Start(); err != nil {
				return exitf(ExitUsage, "start worker: %v", err)
			}
			fmt.Fprintf(stdio.Out, "worker polling task queue drillctl on %s (namespace %s); evidence: %s\nCtrl-C to stop\n",
				c.String("address"), c.String("namespace"), signingNote(acts))
			<-c.Context.Done()
			w.Stop()
			fmt.Fprintln(stdio.Out, "worker stopped")
			return nil
		},
	}
}

func devCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "dev",
		Usage: "run an embedded Temporal server, its Web UI and a worker in one process",
		Description: `The one-machine setup: a real Temporal server (SQLite file), the Temporal
Web UI and a drillctl worker. Drills survive a restart on the same file: an
unfinished drill resumes when dev starts again.

Examples:
   drillctl dev
   drillctl dev --db-file /var/lib/drillctl/temporal.db --port 7233 --ui-port 8233
   drillctl dev --db-file :memory:          # nothing kept`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "db-file", Usage: "SQLite file (\":memory:\" keeps nothing) (default: under the user's state directory)"},
			&ucli.StringFlag{Name: "ip", Value: "127.0.0.1", Usage: "address to listen on"},
			&ucli.IntFlag{Name: "port", Value: 7233, Usage: "Temporal frontend (gRPC) port"},
			&ucli.IntFlag{Name: "ui-port", Value: 8233, Usage: "Web UI port (-1: no UI)"},
			&ucli.StringFlag{Name: "namespace", Value: "default", Usage: "namespace to register"},
			&ucli.StringFlag{Name: "log-level", Value: "warn", Usage: "server log level: debug, info, warn, error"},
		}, append(append(evidenceFlags(), ackFlags("127.0.0.1:8234")...), drainFlag())...),
		Action: func(c *ucli.Context) error {
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			dbFile := c.String("db-file")
			if dbFile == "" {
				def, err := devserver.DefaultDBFile()
				if err != nil {
					return exitf(ExitUsage, "dev: %v (pass --db-file)", err)
				}
				dbFile = def
			}
			srv, err := devserver.Start(c.Context, devserver.Config{
				DBFile: dbFile, IP: c.String("ip"), Port: c.Int("port"), UIPort: c.Int("ui-port"),
				Namespace: c.String("namespace"), LogWriter: os.Stderr, LogLevel: c.String("log-level"),
			})
			if err != nil {
				return exitf(ExitUsage, "dev: %v", err)
			}
			defer srv.Stop()
			cl, err := worker.Dial(c.Context, worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace()})
			if err != nil {
				return exitf(ExitUsage, "dev: %v", err)
			}
			defer cl.Close()
			stopAck, err := startAckServer(c, cl, acts)
			if err != nil {
				return err
			}
			defer stopAck()
			w := worker.New(cl, worker.Options{Activities: acts, Drain: c.Duration("drain")})
			if err := w.Start(); err != nil {
				return exitf(ExitUsage, "dev: start worker: %v", err)
			}
			defer w.Stop()
			fmt.Fprintf(stdio.Out, "Temporal server  %s (namespace %s)\n", srv.FrontendAddress(), srv.Namespace())
			if ui := srv.UIAddress(); ui != "" {
				fmt.Fprintf(stdio.Out, "Web UI           %s\n", ui)
			}
			fmt.Fprintf(stdio.Out, "Database         %s\n", dbFile)
			fmt.Fprintf(stdio.Out, "Evidence         %s\n", signingNote(acts))
			if acts.AckBaseURL != "" {
				fmt.Fprintf(stdio.Out, "Ack links        %s/ack/…\n", acts.AckBaseURL)
			}
			fmt.Fprintf(stdio.Out, "Worker           task queue drillctl\n\nRun a drill from another terminal:\n  drillctl drill run playbooks/examples/chat-platform-quarterly.yaml\nCtrl-C to stop.\n")
			<-c.Context.Done()
			fmt.Fprintln(stdio.Out, "stopping…")
			return nil
		},
	}
}

// drainFlag is how long a stopping worker lets running actions finish.
func drainFlag() ucli.Flag {
	return &ucli.DurationFlag{Name: "drain", Value: worker.DefaultDrain,
		Usage: "on Ctrl-C or SIGTERM, let running actions (a failover script) finish for up to `DURATION` before stopping"}
}
