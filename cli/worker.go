package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/console"
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
   TEMPORAL_PROFILE=prod drillctl worker --trust allowed_signers --log-format json --metrics-addr 0.0.0.0:9464

The connection comes from the flags, else Temporal's own environment
variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_CLIENT_CERT_PATH,
TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_API_KEY,
…), else the profile of the Temporal CLI's config file (--profile,
--config-file), exactly as the temporal CLI reads them. Logs go to stderr
(--log-format json for a collector); every line an activity logs names its
drill and step. Run several workers on the task queue to survive the loss of
one: a lost worker's probes carry on on another (docs/deploy.md).

--trust says whose playbooks the worker runs: the keys of an allowed_signers
file (drillctl playbook sign FILE signs one), or any.`,
		Flags: workerFlags(connectionFlags(), ackFlags(""), trustFlag("")),
		Action: func(c *ucli.Context) error {
			obs, err := startObservability(c)
			if err != nil {
				return err
			}
			defer obs.stop()
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			acts.Console = stdio.Out
			trusted, err := applyTrust(c, acts)
			if err != nil {
				return err
			}
			conn := connection(c)
			obs.instrument(&conn, acts)
			cl, err := dialWith(c.Context, conn)
			if err != nil {
				return err
			}
			defer cl.Close()
			address, namespace := target(conn)
			warnSearchAttributes(c.Context, obs.logger, cl, namespace)
			stopAck, err := startAckServer(c, cl, acts)
			if err != nil {
				return err
			}
			defer stopAck()
			w := worker.New(cl, worker.Options{Settings: acts, Drain: c.Duration("drain")})
			if err := w.Start(); err != nil {
				return exitf(ExitUsage, "start worker: %v", err)
			}
			fmt.Fprintf(stdio.Out, "worker polling task queue drillctl on %s (namespace %s); evidence: %s; runs %s\n",
				address, namespace, signingNote(acts), trusted)
			for _, line := range obs.banner() {
				fmt.Fprintln(stdio.Out, line)
			}
			fmt.Fprintln(stdio.Out, "Ctrl-C to stop")
			<-c.Context.Done()
			w.Stop()
			fmt.Fprintln(stdio.Out, "worker stopped")
			return nil
		},
	}
}

// workerFlags are the flags of a command that runs a worker: its own
// (where it connects), evidence, paging, trust, drain, logs, metrics and
// profiling.
func workerFlags(own, ack []ucli.Flag, trust ucli.Flag) []ucli.Flag {
	flags := append(append([]ucli.Flag{}, own...), evidenceFlags()...)
	flags = append(append(flags, ack...), drainFlag(), trust)
	return append(append(flags, logFlags()...), observeFlags()...)
}

// warnSearchAttributes logs a warning when the namespace lacks drillctl's
// search attributes: drills cannot start there until they are registered.
// A server that will not say (Temporal Cloud to a worker's API key) is
// left alone.
func warnSearchAttributes(ctx context.Context, logger *slog.Logger, cl worker.Client, namespace string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := worker.CheckSearchAttributes(ctx, cl, namespace)
	if err != nil {
		logger.Debug("could not check the search attributes", "namespace", namespace, "error", err.Error())
		return
	}
	if len(st.Missing) > 0 || len(st.Conflicting) > 0 {
		logger.Warn("the namespace lacks drillctl's search attributes: drills cannot start until they are registered "+
			"(drillctl setup; on Temporal Cloud, tcld: see drillctl setup --help)",
			"namespace", namespace, "missing", strings.Join(append(st.Missing, st.Conflicting...), ", "))
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
   drillctl dev --insecure                    # no TLS, loopback only; clients connect with --tls=false
   drillctl dev --retention 720h              # keep finished drills' histories 30 days (evidence bundles stay regardless)
   drillctl dev --log-format json --metrics-addr :9464 --pprof-addr :6060

dev registers drillctl's search attributes (DrillPlaybook, DrillStatus,
DrillVerdict, DrillSchedule, DrillInitiator) on every start. Logs go to stderr,
the server's among them (component=temporal-server, from --server-log-level).`,
		Flags: workerFlags([]ucli.Flag{
			&ucli.StringFlag{Name: "db-file", Usage: "SQLite file (\":memory:\" keeps nothing) (default: under the user's state directory)"},
			&ucli.StringFlag{Name: "ip", Value: "127.0.0.1", Usage: "address the frontend listens on; beyond loopback it needs TLS (the default); the Web UI and the internal ports stay on loopback"},
			&ucli.IntFlag{Name: "port", Value: 7233, Usage: "Temporal frontend (gRPC) port"},
			&ucli.IntFlag{Name: "ui-port", Value: 8233, Usage: "Web UI port (-1: no UI)"},
			&ucli.StringFlag{Name: "internal-ports", Usage: "pin the four internal `PORTS` (history, matching, worker on loopback, then the frontend's HTTP API), e.g. 7234-7237 (default: free ports)"},
			&ucli.BoolFlag{Name: "insecure", Usage: "no TLS, no authentication: anyone on this machine can start drills that run commands as you (loopback --ip only)"},
			&ucli.StringFlag{Name: "namespace", Value: "default", Usage: "namespace to register"},
			&ucli.StringFlag{Name: "console-addr", Value: console.DefaultAddr, Usage: "serve the web console on this loopback `HOST:PORT` (empty: none); see drillctl serve"},
			&ucli.DurationFlag{Name: "retention", Usage: "how long the namespace keeps a finished drill's history, at least 1h " +
				"(default: as it is; 24h for a new database); evidence bundles outlive it"},
			&ucli.StringFlag{Name: "server-log-level", Value: "warn", Category: "Logging",
				Usage: "least severe level of the embedded server's logs: debug, info, warn, error (--log-level may drop more)"},
		}, ackFlags("127.0.0.1:8234"), trustFlag("any")),
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
			if r := c.Duration("retention"); r != 0 && r < devserver.MinRetention {
				return exitf(ExitUsage, "dev: --retention %s: the server keeps histories at least %s", r, devserver.MinRetention)
			}
			if _, err := parseLevel("--server-log-level", c.String("server-log-level")); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			obs, err := startObservability(c)
			if err != nil {
				return err
			}
			defer obs.stop()
			acts, err := workerActivities(c)
			if err != nil {
				return err
			}
			acts.Console = stdio.Out
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
				TLSDir: tlsDir, Namespace: c.String("namespace"), Retention: c.Duration("retention"),
				Logger: obs.logger, LogLevel: c.String("server-log-level"),
			})
			if err != nil {
				return exitf(ExitUsage, "dev: %v", err)
			}
			defer srv.Stop()
			conn := devConnection(srv)
			obs.instrument(&conn, acts)
			cl, err := worker.Dial(c.Context, conn)
			if err != nil {
				return exitf(ExitUsage, "dev: %v", err)
			}
			defer cl.Close()
			stopAck, err := startAckServer(c, cl, acts)
			if err != nil {
				return err
			}
			defer stopAck()
			w := worker.New(cl, worker.Options{Settings: acts, Drain: c.Duration("drain")})
			if err := w.Start(); err != nil {
				return exitf(ExitUsage, "dev: start worker: %v", err)
			}
			defer w.Stop()
			stopConsole, err := startDevConsole(c, stdio, cl, srv.Namespace(), acts)
			if err != nil {
				return err
			}
			defer stopConsole()
			printDevBanner(c.Context, stdio, srv, dbFile, acts, obs)
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
func printDevBanner(ctx context.Context, stdio IO, srv *devserver.Server, dbFile string, acts *worker.Settings, obs *observability) {
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
	retention := ""
	if r, err := srv.Retention(ctx); err == nil {
		retention = fmt.Sprintf(" (histories kept %s; --retention)", r)
	}
	fmt.Fprintf(out, "Database         %s%s\n", dbFile, retention)
	fmt.Fprintf(out, "Evidence         %s\n", signingNote(acts))
	if acts.AckBaseURL != "" {
		fmt.Fprintf(out, "Ack links        %s/ack/…\n", acts.AckBaseURL)
	}
	for _, line := range obs.banner() {
		fmt.Fprintln(out, line)
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
