package cli

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/console"
	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
)

func init() { commandGroups = append(commandGroups, serveCommand, consoleCommand) }

// consoleKeyFlag is the key that signs the console's sessions and sign-in
// links: serve and console link must read the same one.
func consoleKeyFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "console-key", EnvVars: []string{"DRILLCTL_CONSOLE_KEY"},
		Usage: "key `FILE` that signs the console's sessions and sign-in links (created when missing; default: console.key in the state directory)"}
}

// consoleKey reads (or creates) the console's key.
func consoleKey(c *ucli.Context) ([]byte, error) {
	path := c.String("console-key")
	if path == "" {
		dir, err := worker.StateDir()
		if err != nil {
			return nil, exitf(ExitUsage, "console key: %v (pass --console-key)", err)
		}
		path = filepath.Join(dir, "console.key")
	}
	key, err := acklink.LoadOrCreateKey(path)
	if err != nil {
		return nil, exitf(ExitUsage, "console key %s: %v", path, err)
	}
	return key, nil
}

func serveCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "serve the web console against a Temporal cluster",
		Description: `The web console for DR coordinators and compliance officers: the drills
(live, with their gates, pages and abort), the evidence bundles and their
verification, the register and the schedules, in five languages. It talks to
Temporal with the same connection flags as every other command and reads
evidence from --evidence-dir. (drillctl dev serves it too, on --console-addr.)

People sign in with a one-time link: ask for one on the sign-in page (this
command prints it here, standing in for the person's paging channel), or mint
one with "drillctl console link --as NAME" where the console's key is. With
--oidc-issuer, they sign in with the organisation's OpenID Connect provider.
Who may start, approve, acknowledge and abort comes from each drill's
playbook; everyone signed in may read.

Examples:
   drillctl serve --playbooks playbooks/examples --pubkey drillctl.pub
   drillctl serve --addr 0.0.0.0:8443 --console-tls-cert console.pem --console-tls-key console-key.pem \
       --public-url https://dr.example.com:8443 --address temporal.internal:7233 --namespace dr
   drillctl serve --public-url https://dr.example.com --oidc-issuer https://login.example.com \
       --oidc-client-id drillctl --oidc-client-secret-file /etc/drillctl/oidc-secret --viewers auditor`,
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "addr", Value: console.DefaultAddr, Usage: "listen on `HOST:PORT`"},
			&ucli.StringFlag{Name: "public-url", Usage: "the console's `URL` as people reach it, for links and the OpenID Connect redirect (default: http(s)://ADDR)"},
			&ucli.StringFlag{Name: "console-tls-cert", Usage: "serve HTTPS with this certificate `FILE` (needed beyond loopback, unless a TLS proxy is in front: then pass --public-url https://…)"},
			&ucli.StringFlag{Name: "console-tls-key", Usage: "the certificate's key `FILE`"},
			&ucli.StringFlag{Name: "evidence-dir", EnvVars: []string{"DRILLCTL_EVIDENCE_DIR"}, Usage: "the evidence store to read (default: under the user's data directory)"},
			&ucli.StringFlag{Name: "pubkey", Usage: "the evidence signer's public key `FILE`: bundles are verified against it"},
			&ucli.StringFlag{Name: "playbooks", Usage: "a `DIR` of playbooks people may start from the console (its *.yaml and *.yml)"},
			&ucli.StringSliceFlag{Name: "viewers", Usage: "`NAME`s who may sign in and read, beyond the playbooks' people (repeatable, or comma-separated)"},
			consoleKeyFlag(),
			&ucli.StringFlag{Name: "oidc-issuer", Category: "OpenID Connect", Usage: "the provider's issuer `URL`"},
			&ucli.StringFlag{Name: "oidc-client-id", Category: "OpenID Connect", Usage: "the console's client `ID` at the provider"},
			&ucli.StringFlag{Name: "oidc-client-secret-file", Category: "OpenID Connect", Usage: "`FILE` holding the client secret"},
			&ucli.StringFlag{Name: "oidc-claim", Value: "email", Category: "OpenID Connect", Usage: "the ID token `CLAIM` that names the person: matched against contacts' e-mails, then against names"},
		}, connectionFlags()...),
		Action: func(c *ucli.Context) error { return runServe(c, stdio) },
	}
}

func runServe(c *ucli.Context, stdio IO) error {
	addr, certFile, keyFile := c.String("addr"), c.String("console-tls-cert"), c.String("console-tls-key")
	if (certFile == "") != (keyFile == "") {
		return exitf(ExitUsage, "serve: --console-tls-cert and --console-tls-key go together")
	}
	scheme := "http"
	if certFile != "" {
		scheme = "https"
	}
	publicURL := c.String("public-url")
	if publicURL == "" {
		publicURL = scheme + "://" + addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return exitf(ExitUsage, "serve: --addr %q: %v", addr, err)
	}
	if certFile == "" && !devserver.IsLoopback(host) && !strings.HasPrefix(publicURL, "https://") {
		return exitf(ExitUsage, "serve: refusing plain HTTP on %s: sessions and sign-in links would cross the network in clear "+
			"(and browsers keep Secure cookies off plain HTTP); pass --console-tls-cert and --console-tls-key, or put a TLS "+
			"proxy in front and pass --public-url https://…", addr)
	}
	cfg, err := serveConfig(c, publicURL)
	if err != nil {
		return err
	}
	cl, err := dial(c.Context, c)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, namespace := target(connection(c))
	cfg.Backend = &console.Temporal{Client: cl, Namespace: namespace, Store: cfg.Evidence}
	cfg.Log = stdio.Out
	srv, err := console.New(cfg)
	if err != nil {
		return exitf(ExitUsage, "serve: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitf(ExitUsage, "serve: %s: %v", addr, err)
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return exitf(ExitUsage, "serve: --console-tls-cert: %v", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	}
	stop := serveConsole(ln, srv)
	defer stop()
	fmt.Fprintf(stdio.Out, "drillctl console on %s (listening on %s); evidence: %s\n"+
		"sign in: ask for a link on its sign-in page (printed here), or run: drillctl console link --as NAME\nCtrl-C to stop\n",
		publicURL, ln.Addr(), cfg.Evidence.Dir)
	<-c.Context.Done()
	return nil
}

// serveConfig reads what serve's flags say of the console, but the backend.
func serveConfig(c *ucli.Context, publicURL string) (console.Config, error) {
	key, err := consoleKey(c)
	if err != nil {
		return console.Config{}, err
	}
	store, err := evidenceStore(c)
	if err != nil {
		return console.Config{}, err
	}
	cfg := console.Config{Evidence: store, Key: key, PublicURL: publicURL, Version: Version, PlaybooksDir: c.String("playbooks")}
	if p := c.String("pubkey"); p != "" {
		if cfg.PublicKey, err = evidence.LoadPublicKey(p); err != nil {
			return cfg, exitf(ExitUsage, "--pubkey: %v", err)
		}
	}
	for _, v := range c.StringSlice("viewers") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				cfg.Viewers = append(cfg.Viewers, name)
			}
		}
	}
	if cfg.Playbooks, err = loadPlaybookDir(cfg.PlaybooksDir); err != nil {
		return cfg, err
	}
	if issuer := c.String("oidc-issuer"); issuer != "" {
		secret := ""
		if f := c.String("oidc-client-secret-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return cfg, exitf(ExitUsage, "--oidc-client-secret-file: %v", err)
			}
			secret = strings.TrimSpace(string(b))
		}
		if c.String("oidc-client-id") == "" {
			return cfg, exitf(ExitUsage, "--oidc-issuer needs --oidc-client-id (and usually --oidc-client-secret-file)")
		}
		cfg.OIDC = &console.OIDCConfig{Issuer: issuer, ClientID: c.String("oidc-client-id"), ClientSecret: secret, Claim: c.String("oidc-claim")}
	}
	return cfg, nil
}

// loadPlaybookDir loads and validates the playbooks of dir (and of its
// folders one level down); every one must validate.
func loadPlaybookDir(dir string) ([]*playbooks.Playbook, error) {
	if dir == "" {
		return nil, nil
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml", "*/*.yaml", "*/*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, exitf(ExitUsage, "--playbooks %s: %v", dir, err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	var out []*playbooks.Playbook
	var errs []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, exitf(ExitUsage, "--playbooks: %v", err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if yaml.Unmarshal(raw, &head) != nil || head.Kind != playbooks.KindPlaybook {
			continue // not a playbook (an allowed_signers file, a schedule…)
		}
		pb, err := playbooks.Load(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, pb)
	}
	if len(errs) > 0 {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--playbooks %s: %w", dir, errors.Join(errs...))}
	}
	if len(out) == 0 {
		return nil, exitf(ExitUsage, "--playbooks %s: no playbook found", dir)
	}
	return out, nil
}

// serveConsole serves the console on ln until the returned function stops
// it.
func serveConsole(ln net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "drillctl: console: %v\n", err)
		}
	}()
	return func() { srv.Close() }
}

// startDevConsole serves the console beside drillctl dev on --console-addr
// (loopback only: dev has no certificate for it), reading dev's evidence
// store and checking its signatures with dev's own key. The returned stop
// function is never nil.
func startDevConsole(c *ucli.Context, stdio IO, cl worker.Client, namespace string, acts *worker.Settings) (func(), error) {
	addr := c.String("console-addr")
	if addr == "" {
		return func() {}, nil
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !devserver.IsLoopback(host) {
		return nil, exitf(ExitUsage, "dev: --console-addr %s: the console of dev listens on loopback only "+
			"(use drillctl serve with --console-tls-cert beyond it), or --console-addr '' for none", addr)
	}
	key, err := consoleKey(c)
	if err != nil {
		return nil, err
	}
	cfg := console.Config{Evidence: acts.Evidence, Key: key, PublicURL: "http://" + addr, Version: Version, Log: stdio.Out}
	if acts.SigningKey != nil {
		cfg.PublicKey = acts.SigningKey.Public().(ed25519.PublicKey)
	}
	cfg.Backend = &console.Temporal{Client: cl, Namespace: namespace, Store: acts.Evidence}
	srv, err := console.New(cfg)
	if err != nil {
		return nil, exitf(ExitUsage, "dev: console: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, exitf(ExitUsage, "dev: console: %s is in use (%v); pick another with --console-addr, or --console-addr '' for none", addr, err)
	}
	fmt.Fprintf(stdio.Out, "Console          %s (sign in: ask for a link on its page, printed here, or run drillctl console link --as NAME)\n", cfg.PublicURL)
	return serveConsole(ln, srv), nil
}

func consoleCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "console",
		Usage: "the web console's sign-in links",
		Subcommands: []*ucli.Command{{
			Name:  "link",
			Usage: "print a one-time sign-in link to the web console for a person",
			Description: `Mints a link that signs NAME in to the console once, within --ttl, signed with
the console's key (run it where drillctl serve or dev keeps its key, or pass
the same --console-key). Hand it to the person over a channel that is theirs.

Examples:
   drillctl console link --as alice
   drillctl console link --as auditor --url https://dr.example.com --ttl 1h`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "as", Required: true, Usage: "who the link signs in (`NAME`: a contact of a playbook, or a --viewers name)"},
				&ucli.StringFlag{Name: "url", Value: "http://" + console.DefaultAddr, Usage: "the console's public `URL`"},
				&ucli.DurationFlag{Name: "ttl", Value: console.DefaultSignInTTL, Usage: "how long the link stays valid"},
				consoleKeyFlag(),
			},
			Action: func(c *ucli.Context) error {
				if c.Duration("ttl") <= 0 || c.Duration("ttl") > 24*time.Hour {
					return exitf(ExitUsage, "console link: --ttl %s: expected more than 0 and at most 24h", c.Duration("ttl"))
				}
				key, err := consoleKey(c)
				if err != nil {
					return err
				}
				_, err = io.WriteString(stdio.Out, console.SignInLink(key, c.String("url"), c.String("as"), c.Duration("ttl"), time.Now())+"\n")
				return err
			},
		}},
	}
}
