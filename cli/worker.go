package cli

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/activities"
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
   drillctl worker --trust any                       # drillctl dev on 127.0.0.1:7233 (its client certificate is found by itself)
   drillctl worker --trust any --tls=false           # drillctl dev --insecure
   drillctl worker --trust /etc/drillctl/allowed_signers --address temporal.internal:7233 --namespace dr \
       --tls-cert client.pem --tls-key client.key --tls-ca ca.pem
   TEMPORAL_API_KEY=... drillctl worker --trust allowed_signers --address my-ns.a1b2c.tmprl.cloud:7233 --namespace my-ns.a1b2c

--trust says whose playbooks the worker runs: the keys of an allowed_signers
file (drillctl playbook sign FILE signs one), or any.`,
		Flags: append(append(append(connectionFlags(), evidenceFlags()...), ackFlags("")...), drainFlag(), trustFlag("")),
		Action: func(c *ucli.Context) error {
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			trusted, err := applyTrust(c, acts)
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
			fmt.Fprintf(stdio.Out, "worker polling task queue drillctl on %s (namespace %s); evidence: %s; runs %s\nCtrl-C to stop\n",
				c.String("address"), c.String("namespace"), signingNote(acts), trusted)
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

The frontend takes only clients presenting a certificate signed by a CA that
dev generates on first start (and reuses after) in the state directory,
~/.local/state/drillctl/tls ($XDG_STATE_HOME, or $DRILLCTL_STATE_DIR, moves
it). drillctl commands and workers on this machine use its client.pem by
themselves; elsewhere, copy ca.pem, client.pem and client-key.pem and pass
--tls-ca, --tls-cert and --tls-key. The Web UI and the server's internal
ports listen on loopback only, and the UI only reads.

Examples:
   drillctl dev
   drillctl dev --db-file /var/lib/drillctl/temporal.db --port 7233 --ui-port 8233
   drillctl dev --db-file :memory:            # nothing kept
   drillctl dev --ip 0.0.0.0                  # frontend on every interface (mTLS); the UI stays on 127.0.0.1
   drillctl dev --internal-ports 7234-7237    # pin history, matching, worker and the frontend's HTTP API
   drillctl dev --insecure                    # no TLS, loopback only; clients connect with --tls=false`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "db-file", Usage: "SQLite file (\":memory:\" keeps nothing) (default: under the user's state directory)"},
			&ucli.StringFlag{Name: "ip", Value: "127.0.0.1", Usage: "address the frontend listens on; beyond loopback it needs TLS (the default); the Web UI and the internal ports stay on loopback"},
			&ucli.IntFlag{Name: "port", Value: 7233, Usage: "Temporal frontend (gRPC) port"},
			&ucli.IntFlag{Name: "ui-port", Value: 8233, Usage: "Web UI port (-1: no UI)"},
			&ucli.StringFlag{Name: "internal-ports", Usage: "pin the four internal `PORTS` (history, matching, worker on loopback, then the frontend's HTTP API), e.g. 7234-7237 (default: free ports)"},
			&ucli.BoolFlag{Name: "insecure", Usage: "no TLS, no authentication: anyone on this machine can start drills that run commands as you (loopback --ip only)"},
			&ucli.StringFlag{Name: "namespace", Value: "default", Usage: "namespace to register"},
			&ucli.StringFlag{Name: "log-level", Value: "warn", Usage: "server log level: debug, info, warn, error"},
		}, append(append(evidenceFlags(), ackFlags("127.0.0.1:8234")...), drainFlag(), trustFlag("any"))...),
		Action: func(c *ucli.Context) error {
			ip, insecure := c.String("ip"), c.Bool("insecure")
			if insecure && !devserver.IsLoopback(ip) {
				return exitf(ExitUsage, "dev: refusing --ip %s with --insecure: without TLS, anyone who can reach %s could start "+
					"drills whose steps run commands as you, and approve them as anyone; drop --insecure (mutual TLS is the default), "+
					"or listen on 127.0.0.1", ip, ip)
			}
			internalPorts, err := parseInternalPorts(c.String("internal-ports"))
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			if _, err := applyTrust(c, acts); err != nil {
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
			tlsDir := ""
			if !insecure {
				if tlsDir, err = devserver.DefaultTLSDir(); err != nil {
					return exitf(ExitUsage, "dev: %v (set %s)", err, devserver.StateDirEnv)
				}
			}
			srv, err := devserver.Start(c.Context, devserver.Config{
				DBFile: dbFile, IP: ip, Port: c.Int("port"), UIPort: c.Int("ui-port"), InternalPorts: internalPorts,
				TLSDir: tlsDir, Namespace: c.String("namespace"), LogWriter: os.Stderr, LogLevel: c.String("log-level"),
			})
			if err != nil {
				return exitf(ExitUsage, "dev: %v", err)
			}
			defer srv.Stop()
			cl, err := worker.Dial(c.Context, devConnection(srv))
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
			printDevBanner(stdio, srv, dbFile, acts)
			<-c.Context.Done()
			fmt.Fprintln(stdio.Out, "stopping…")
			return nil
		},
	}
}

// devConnection is how dev's own worker reaches its server: with the
// generated client certificate, or in plaintext when --insecure (never
// with a certificate found on disk for another server).
func devConnection(srv *devserver.Server) worker.Connection {
	conn := worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}
	creds := srv.Credentials()
	if creds == nil {
		off := false
		conn.TLS = &off
		return conn
	}
	conn.TLSCert = creds.File(devserver.ClientCertFile)
	conn.TLSKey = creds.File(devserver.ClientKeyFile)
	conn.TLSCA = creds.File(devserver.CACertFile)
	return conn
}

// printDevBanner says what runs where, and how it is protected.
func printDevBanner(stdio IO, srv *devserver.Server, dbFile string, acts *activities.Activities) {
	out := stdio.Out
	fmt.Fprintf(out, "Temporal server  %s (namespace %s)\n", srv.FrontendAddress(), srv.Namespace())
	if srv.ListenAddress() != srv.FrontendAddress() {
		fmt.Fprintf(out, "Listening on     %s\n", srv.ListenAddress())
	}
	if creds := srv.Credentials(); creds != nil {
		made := "reused"
		if len(creds.Created) > 0 {
			made = "generated " + strings.Join(creds.Created, ", ")
		}
		fmt.Fprintf(out, "Security         mutual TLS: clients need a certificate of the CA in %s (%s);\n"+
			"                 drillctl on this machine uses its client.pem by itself\n", creds.Dir, made)
	} else {
		fmt.Fprintf(out, "Security         INSECURE (--insecure): no TLS, no authentication; anyone on this machine can\n"+
			"                 start drills that run commands as you; clients connect with --tls=false\n")
	}
	if ui := srv.UIAddress(); ui != "" {
		note := ""
		if srv.Credentials() != nil {
			note = " (read-only: the UI has no login)"
		}
		if host, _, _ := net.SplitHostPort(srv.ListenAddress()); !devserver.IsLoopback(host) {
			note += fmt.Sprintf("\n                 kept on loopback: --ip %s applies to the frontend only", host)
		}
		fmt.Fprintf(out, "Web UI           %s%s\n", ui, note)
	}
	internal := srv.InternalAddresses()
	fmt.Fprintf(out, "Internal ports   history %s, matching %s, worker %s; frontend HTTP API %s\n", internal[0], internal[1], internal[2], internal[3])
	fmt.Fprintf(out, "Database         %s\n", dbFile)
	fmt.Fprintf(out, "Evidence         %s\n", signingNote(acts))
	if acts.AckBaseURL != "" {
		fmt.Fprintf(out, "Ack links        %s/ack/…\n", acts.AckBaseURL)
	}
	fmt.Fprintf(out, "Worker           task queue drillctl\n\nRun a drill from another terminal:\n  drillctl drill run playbooks/examples/chat-platform-quarterly.yaml\nCtrl-C to stop.\n")
}

// parseInternalPorts reads --internal-ports: "" (free ports), the first
// port, or a range of exactly devserver.NumInternalPorts ports.
func parseInternalPorts(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	first, last, isRange := strings.Cut(s, "-")
	from, err := strconv.Atoi(strings.TrimSpace(first))
	to := from + devserver.NumInternalPorts - 1
	if err == nil && isRange {
		to, err = strconv.Atoi(strings.TrimSpace(last))
	}
	n := devserver.NumInternalPorts
	if err != nil || from < 1 || to-from+1 != n || to > 65535 {
		return 0, fmt.Errorf("--internal-ports %q: expected %d consecutive ports within 1-65535, as FIRST-LAST or FIRST (e.g. 7234-%d)",
			s, n, 7234+n-1)
	}
	return from, nil
}

// drainFlag is how long a stopping worker lets running actions finish.
func drainFlag() ucli.Flag {
	return &ucli.DurationFlag{Name: "drain", Value: worker.DefaultDrain,
		Usage: "on Ctrl-C or SIGTERM, let running actions (a failover script) finish for up to `DURATION` before stopping"}
}
