package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/acklink"
	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/lab"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

func init() { commandGroups = append(commandGroups, demoCommand) }

// demoAckTimeout replaces the escalation levels' ack timeouts in the demo,
// so the successor is paged in seconds rather than minutes.
const demoAckTimeout = 4 * time.Second

func demoCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "run a real drill against the lab on an embedded Temporal server, in one process",
		Description: `Starts an embedded Temporal server (a temporary SQLite file), a worker and the
two-site lab, then runs playbooks/examples/chat-platform-quarterly.yaml against it:
the primary admin does not answer the page and the successor does, the demo's
coordinator gives the go, the primary fails over, the standby comes back, and
permissions and chat records are compared. It ends with the scorecard.
Exit codes as for "drill run".

Examples:
   drillctl demo
   drillctl demo --output json | jq .measures
   drillctl demo --lag 5s --promote-delay 8s`,
		Flags: append([]ucli.Flag{
			&ucli.DurationFlag{Name: "lag", Value: time.Second, Usage: "the lab's replication lag (what the RPO should find)"},
			&ucli.DurationFlag{Name: "promote-delay", Value: 3 * time.Second, Usage: "how long the standby takes to come back (what the RTO should find)"},
			&ucli.StringFlag{Name: "playbook", Usage: "run this playbook `FILE` instead of the shipped chat-platform-quarterly.yaml"},
			outputFlag(),
		}, evidenceFlags()...),
		Action: func(c *ucli.Context) error { return runDemo(c, stdio) },
	}
}

func runDemo(c *ucli.Context, stdio IO) error {
	format, err := outputFormat(c)
	if err != nil {
		return err
	}
	ctx := c.Context
	say := func(format string, args ...any) {
		if format != "" && c.String("output") == "text" {
			fmt.Fprintf(stdio.Out, format+"\n", args...)
		}
	}

	pb, err := demoPlaybook(c.String("playbook"))
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	dir, err := os.MkdirTemp("", "drillctl-demo-")
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	defer os.RemoveAll(dir)

	say("Starting an embedded Temporal server (SQLite in %s), a worker and the lab…", dir)
	srv, err := devserver.Start(ctx, devserver.Config{DBFile: filepath.Join(dir, "temporal.db"), Port: 0, UIPort: -1})
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	defer srv.Stop()
	l, err := lab.Start(ctx, lab.Config{PrimaryAddr: "127.0.0.1:0", StandbyAddr: "127.0.0.1:0",
		Lag: c.Duration("lag"), PromoteDelay: c.Duration("promote-delay")})
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	defer l.Stop()
	quiet := slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: slog.LevelError}))
	cl, err := worker.Dial(ctx, worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet})
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	defer cl.Close()
	acts, err := workerActivities(c)
	if err != nil {
		return err
	}
	// bob answers his page through the one-click link it carries.
	links := make(chan string, 8)
	var console io.Writer = io.Discard
	if format == "text" {
		console = prefixWriter{w: stdio.Out, prefix: "  📟 "}
	}
	acts.Console = linkWatcher{w: console, contact: "bob", links: links}
	ackKey, err := acklink.NewKey()
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	stopAck, err := serveAckLinks("127.0.0.1:0", "", ackKey, cl, acts)
	if err != nil {
		return err
	}
	defer stopAck()
	w := worker.New(cl, worker.Options{Settings: acts})
	if err := w.Start(); err != nil {
		return exitf(ExitUsage, "demo: start worker: %v", err)
	}
	defer w.Stop()

	for name, policy := range pb.Escalation {
		for i := range policy.Levels {
			policy.Levels[i].AckTimeout = playbooks.Duration(demoAckTimeout)
		}
		pb.Escalation[name] = policy
	}
	say("Lab: primary %s, standby %s (replication lag %s, standby back %s after failover).",
		l.PrimaryURL(), l.StandbyURL(), c.Duration("lag"), c.Duration("promote-delay"))
	say("Demo: ack timeouts shortened to %s; alice will not answer, bob (her successor) will.\n", demoAckTimeout)

	people, err := demoPeople(pb)
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	say("Demo: throwaway SSH keys made for %s (in memory, gone when the demo ends): the start and the go are signed.\n",
		strings.Join(sortedNames(people), ", "))
	in, err := drillInputFrom(pb, []string{"primary=" + l.PrimaryURL(), "standby=" + l.StandbyURL()}, false)
	if err != nil {
		return err
	}
	in.Initiator = "coordinator"
	if in.Start, err = people.sign(identity.Statement{Drill: in.DrillID, Decision: identity.DecisionStart, Signer: "coordinator"}); err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	run, err := startDrill(ctx, cl, in)
	if err != nil {
		return exitf(ExitUsage, "demo: start drill: %v", err)
	}
	humans, stopHumans := context.WithCancel(ctx)
	defer stopHumans()
	go simulateHumans(humans, cl, run.GetID(), links, people, say)

	if format == "text" {
		if err := newProgress(stdio.Out, false).follow(ctx, cl, run.GetID()); err != nil {
			return err
		}
	}
	rec, err := fetchRecord(ctx, cl, run.GetID(), true)
	if err != nil {
		return exitf(ExitUsage, "demo: %v", err)
	}
	if format == "text" {
		writeScorecard(stdio.Out, rec)
		writeDemoSummary(stdio.Out, rec, l.Truth())
	}
	return printRecordCode(stdio, format, rec)
}

// demoPlaybook is the playbook the demo runs.
func demoPlaybook(file string) (*playbooks.Playbook, error) {
	if file != "" {
		return playbooks.Load(file)
	}
	if p, err := playbooks.Load("playbooks/examples/chat-platform-quarterly.yaml"); err == nil {
		return p, nil
	}
	return playbooks.Example("chat-platform-quarterly.yaml")
}

// simulateHumans plays the people of the demo: alice never answers her page;
// bob, her successor, clicks the ack link of his a moment after it arrives;
// the coordinator gives the go when asked.
func simulateHumans(ctx context.Context, cl worker.Client, id string, links <-chan string, people demoKeys, say func(string, ...any)) {
	approved := map[string]bool{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case link := <-links:
			go func() {
				time.Sleep(1500 * time.Millisecond) // bob reads his page
				resp, err := http.Post(link, "application/x-www-form-urlencoded", nil)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						say("  👤 bob clicked the ack link in his page")
					}
				}
			}()
		case <-tick.C:
		}
		rec, err := queryStatus(ctx, cl, id)
		if err != nil {
			continue
		}
		if rec.Status != evidence.StatusRunning {
			return
		}
		for _, s := range rec.Steps {
			if s.Type == "approval" && s.Status == evidence.StepWaiting && !approved[s.ID] {
				approved[s.ID] = true
				const comment = "demo: change window open"
				signed, err := people.sign(identity.Statement{Drill: id, Step: s.ID, Decision: identity.DecisionApprove,
					Signer: "coordinator", Comment: comment})
				if err != nil {
					continue
				}
				h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
					WorkflowID: id, UpdateName: workflows.UpdateApprove,
					Args:         []any{workflows.ApproveInput{Step: s.ID, By: "coordinator", Comment: comment, Signed: signed, Via: "cli"}},
					WaitForStage: client.WorkflowUpdateStageCompleted,
				})
				if err == nil && h.Get(ctx, nil) == nil {
					say("  👤 the coordinator gave the go on %s", s.ID)
				}
			}
		}
	}
}

// linkWatcher passes console pages through, and hands on the ack link of
// every page sent to one contact.
type linkWatcher struct {
	w       io.Writer
	contact string
	links   chan<- string
}

func (l linkWatcher) Write(b []byte) (int, error) {
	line := string(b)
	if strings.Contains(line, "→ "+l.contact+" (") {
		if _, link, ok := strings.Cut(line, " — ack: "); ok && strings.HasPrefix(link, "http") {
			select {
			case l.links <- strings.TrimSpace(link):
			default:
			}
		}
	}
	return l.w.Write(b)
}

// writeDemoSummary adds what the lab knows to the scorecard.
func writeDemoSummary(w io.Writer, rec *evidence.Record, truth lab.Truth) {
	fmt.Fprintln(w)
	for _, s := range rec.Steps {
		switch {
		case s.ID == "permissions" && s.Output != nil:
			fmt.Fprintf(w, "  permission drift: %v difference(s) between the sites\n", s.Output["drift"])
		case s.ID == "chat-records" && s.Output != nil:
			fmt.Fprintf(w, "  chat messages lost in the failover: %v (written before the outage, missing on the standby)\n",
				s.Output["missingOnStandby"])
		}
	}
	if r := rec.Measures.Response; r.AckedBy != "" {
		fmt.Fprintf(w, "  the page was answered by %s (level %d)\n", r.AckedBy, r.Level)
	}
	if truth.OutageStartedAt != nil && truth.RestoredAt != nil {
		fmt.Fprintf(w, "  the lab's truth: outage %s, %d writes lost\n",
			humanDuration(truth.RestoredAt.Sub(*truth.OutageStartedAt)), truth.LostWrites)
	}
}

// printRecordCode prints JSON when asked (text was printed already) and
// returns the verdict's exit code.
func printRecordCode(stdio IO, format string, rec *evidence.Record) error {
	if format == "json" {
		if err := writeJSON(stdio.Out, rec); err != nil {
			return err
		}
	}
	if code := verdictExitCode(rec); code != ExitOK {
		return &ExitError{Code: code}
	}
	return nil
}

// prefixWriter prefixes every write (a line) with a marker.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// demoKeys are the throwaway keys of the demo's people.
type demoKeys map[string]ssh.Signer

// demoPeople makes a throwaway ed25519 key for every contact of the demo's
// playbook and declares it, so the demo's drill is a signed one.
func demoPeople(pb *playbooks.Playbook) (demoKeys, error) {
	keys := demoKeys{}
	for _, name := range sortedNames(pb.Contacts) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return nil, err
		}
		keys[name] = signer
		c := pb.Contacts[name]
		c.Keys = []string{strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}
		pb.Contacts[name] = c
	}
	return keys, nil
}

// sign signs a statement as its signer.
func (k demoKeys) sign(stmt identity.Statement) (*identity.Signed, error) {
	signer, ok := k[stmt.Signer]
	if !ok {
		return nil, fmt.Errorf("no demo key for %s", stmt.Signer)
	}
	stmt.At, stmt.Nonce = time.Now().UTC(), identity.NewNonce()
	s, err := identity.Sign(stmt, signer)
	return &s, err
}

// sortedNames returns a map's keys in order.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
