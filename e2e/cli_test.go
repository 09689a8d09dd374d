package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// The CLI as a new user meets it: what it says about drills that ended,
// how it lists and filters drills, and what it streams.

// pagedPlaybook pages alice, then waits at a gate: a drill that stays
// running after its page was answered.
const pagedPlaybook = `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: e2e-cli-page}
targets: {response: 15m}
contacts:
  alice: {name: Alice, channels: [{console: {}}]}
escalation:
  admins:
    levels:
      - {contacts: [alice], ackTimeout: 10m}
steps:
  - {id: page, type: page, escalation: admins}
  - {id: go-no-go, type: approval, needs: [page], approvers: [alice], timeout: 10m}
`

func TestCLI_DecisionsOnAFinishedPageOrDrillSayWhatHappened(t *testing.T) {
	startWorker(t)
	start := drillctl(t, "drill", "run", writePlaybook(t, pagedPlaybook), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "page", evidence.StepRunning)
	require.Eventually(t, func() bool {
		return drillctl(t, "drill", "ack", id, "--step", "page", "--as", "alice").code == 0
	}, 10*time.Second, 50*time.Millisecond, "alice acknowledges")
	waitForStep(t, id, "go-no-go", evidence.StepWaiting)

	// The page was answered: a second ack names the step, not an internal workflow id.
	again := drillctl(t, "drill", "ack", id, "--step", "page", "--as", "alice")
	assert.Equal(t, 1, again.code)
	assert.Contains(t, again.stderr, fmt.Sprintf(`step "page" of drill %s is no longer paging: it succeeded at `, id))
	assert.Contains(t, again.stderr, "(acknowledged by alice)")
	assert.NotContains(t, again.stderr, "-page-page")
	notPage := drillctl(t, "drill", "ack", id, "--step", "go-no-go", "--as", "alice")
	assert.Equal(t, 1, notPage.code)
	assert.Contains(t, notPage.stderr, `step "go-no-go" of drill `+id+" is not a page step but approval (its page steps: page)")

	// Abort, with --comment, printed as JSON.
	ab := drillctl(t, "drill", "abort", id, "--comment", "test over", "--as", "carol", "--output", "json")
	require.Equal(t, 0, ab.code, ab.stderr)
	var sent map[string]string
	require.NoError(t, json.Unmarshal([]byte(ab.stdout), &sent), ab.stdout)
	assert.Equal(t, map[string]string{"drillId": id, "by": "carol", "comment": "test over"}, sent)
	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Equal(t, 4, res.code, res.stderr)
	assert.Equal(t, "test over", decodeRecord(t, res).Reason)

	// Every decision on the ended drill says it ended, how, and what is left.
	for _, tc := range []struct {
		args []string
		left string
	}{
		{[]string{"drill", "ack", id, "--step", "page", "--as", "alice"}, "nobody is paged any more"},
		{[]string{"drill", "ack", id, "--as", "alice"}, "nobody is paged any more"},
		{[]string{"drill", "abort", id, "--comment", "again"}, "there is nothing left to abort"},
		{[]string{"drill", "approve", id, "go-no-go", "--as", "alice"}, "there is no gate left to approve"},
		{[]string{"drill", "decide", id, "page", "continue", "--as", "alice"}, "there is nothing left to decide"},
	} {
		r := drillctl(t, tc.args...)
		assert.Equal(t, 1, r.code, tc.args)
		assert.Contains(t, r.stderr, "drill "+id+" has ended (aborted, at ", tc.args)
		assert.Contains(t, r.stderr, tc.left+"; its record: drillctl drill result "+id, tc.args)
		assert.NotContains(t, r.stderr, "no drill", tc.args)
		assert.NotContains(t, r.stderr, "-page-page", tc.args)
	}
	missing := drillctl(t, "drill", "abort", "drill-that-never-ran", "--comment", "x")
	assert.Equal(t, 1, missing.code)
	assert.Contains(t, missing.stderr, `no drill "drill-that-never-ran" in this namespace`)

	runn := drillctl(t, "drill", "runn")
	assert.Equal(t, 1, runn.code)
	assert.Contains(t, runn.stderr, `unknown command "runn" for "drillctl drill" (did you mean "run"?)`)
}

// cliAsync runs the CLI in the background (the environment drillctl set).
func cliAsync(ctx context.Context, out *lockedBuffer, args ...string) <-chan int {
	done := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		done <- cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: out, Err: &errb},
			append([]string{"drillctl"}, args...))
	}()
	return done
}

// ndjsonRecords decodes NDJSON: every line one record.
func ndjsonRecords(t *testing.T, out string) []evidence.Record {
	t.Helper()
	var recs []evidence.Record
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var rec evidence.Record
		require.NoError(t, json.Unmarshal([]byte(line), &rec), "not one JSON object a line: %q", line)
		recs = append(recs, rec)
	}
	return recs
}

func TestCLI_WatchAndRunFollowStreamOneJSONRecordPerChange(t *testing.T) {
	startWorker(t)
	p := newPlatform(t, 200*time.Millisecond)
	start := drillctl(t, "drill", "run", writePlaybook(t, gatedPlaybook(p.srv.URL)), "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out lockedBuffer
	done := cliAsync(ctx, &out, "drill", "watch", id, "-o", "json")
	gateWaits := func(r evidence.Record) bool {
		for _, s := range r.Steps {
			if s.ID == "go-no-go" && s.Status == evidence.StepWaiting {
				return true
			}
		}
		return false
	}
	// The watch streams the gate waiting before anyone approves it.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), `"status":"waiting"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, 0, drillctl(t, "drill", "approve", id, "go-no-go", "--as", "alice").code)
	require.Equal(t, 0, <-done, out.String())

	recs := ndjsonRecords(t, out.String())
	require.GreaterOrEqual(t, len(recs), 2, out.String())
	assert.Equal(t, evidence.StatusRunning, recs[0].Status)
	last := recs[len(recs)-1]
	assert.Equal(t, evidence.StatusCompleted, last.Status)
	assert.Equal(t, evidence.VerdictMet, last.Verdict)
	sawGate := false
	for _, r := range recs {
		assert.Equal(t, id, r.DrillID)
		sawGate = sawGate || gateWaits(r)
	}
	assert.True(t, sawGate, "a change was streamed while the gate waited")

	// drill run --follow --output json streams the same way.
	run := drillctl(t, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--follow", "-o", "json")
	require.Equal(t, 0, run.code, run.stderr)
	recs = ndjsonRecords(t, run.stdout)
	require.GreaterOrEqual(t, len(recs), 2, run.stdout)
	assert.Equal(t, evidence.VerdictMet, recs[len(recs)-1].Verdict)
}

// cliListRow is a row of `drill list --output json`.
type cliListRow struct {
	DrillID  string `json:"drillId"`
	Playbook string `json:"playbook"`
	Status   string `json:"status"`
	Verdict  string `json:"verdict"`
}

// cliList runs drill list with args and returns the rows it prints and
// what it says on stderr.
func cliList(t *testing.T, run func(t *testing.T, args ...string) result, args ...string) ([]cliListRow, string) {
	t.Helper()
	r := run(t, append([]string{"drill", "list", "--output", "json"}, args...)...)
	require.Equal(t, 0, r.code, r.stderr)
	var rows []cliListRow
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows), r.stdout)
	return rows, r.stderr
}

// cliListEventually is cliList, asked again until the rows are want (the
// visibility store is updated a moment after a drill ends).
func cliListEventually(t *testing.T, run func(t *testing.T, args ...string) result, want []cliListRow, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, note := cliList(t, run, args...)
		if assert.ObjectsAreEqual(want, rows) || time.Now().After(deadline) {
			assert.ElementsMatch(t, want, rows, args)
			return note
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// oneCallPlaybook is a one-step playbook named name that passes, or fails
// when its target answers 500.
func oneCallPlaybook(name, url string) string {
	return fmt.Sprintf("apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: %s}\nsteps:\n  - {id: call, type: http, url: %q}\n", name, url)
}

func answering(t *testing.T, code int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCLI_ListShowsStatusAndVerdictAndFiltersThroughSearchAttributes(t *testing.T) {
	startWorker(t)
	name := "e2e-list-" + uuid.NewString()[:8]
	ok := drillctl(t, "drill", "run", writePlaybook(t, oneCallPlaybook(name, answering(t, 204))), "-o", "json")
	require.Equal(t, 0, ok.code, ok.stderr)
	bad := drillctl(t, "drill", "run", writePlaybook(t, oneCallPlaybook(name, answering(t, 500))), "-o", "json")
	require.Equal(t, 4, bad.code, bad.stderr)
	okID, badID := decodeRecord(t, ok).DrillID, decodeRecord(t, bad).DrillID

	note := cliListEventually(t, drillctl, []cliListRow{{badID, name, "failed", "failed"}, {okID, name, "completed", "met"}}, "--playbook", name)
	assert.Empty(t, note, "the namespace has the search attributes")
	cliListEventually(t, drillctl, []cliListRow{{badID, name, "failed", "failed"}}, "--playbook", name, "--verdict", "failed")
	cliListEventually(t, drillctl, []cliListRow{{okID, name, "completed", "met"}}, "--playbook", name, "--status", "completed", "--since", "1h")
	rows, _ := cliList(t, drillctl, "--playbook", name, "--since", "2999-01-01")
	assert.Empty(t, rows)
	text := drillctl(t, "drill", "list", "--playbook", name)
	require.Equal(t, 0, text.code, text.stderr)
	assert.Contains(t, text.stdout, "VERDICT")
	assert.Regexp(t, badID+`\s+`+name+`\s+failed\s+failed`, text.stdout)

	// Drills whose attributes say how they ended are filtered by the
	// server (these never run: nobody polls their task queue).
	cl := dialServer(t)
	synthetic := "e2e-list-sa-" + uuid.NewString()[:8]
	var missed string
	for i, outcome := range [][2]string{{"completed", "missed"}, {"completed", "met"}, {"aborted", "aborted"}} {
		id := fmt.Sprintf("drill-%s-%d", synthetic, i)
		_, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: id, TaskQueue: "e2e-nobody-" + synthetic,
			TypedSearchAttributes: temporal.NewSearchAttributes(worker.SearchPlaybook.ValueSet(synthetic),
				worker.SearchStatus.ValueSet(outcome[0]), worker.SearchVerdict.ValueSet(outcome[1])),
		}, workflows.DrillWorkflow, workflows.DrillInput{DrillID: id})
		require.NoError(t, err)
		t.Cleanup(func() { _ = cl.TerminateWorkflow(context.Background(), id, "", "test over") })
		if outcome[1] == "missed" {
			missed = id
		}
	}
	cliListEventually(t, drillctl, []cliListRow{{missed, synthetic, "completed", "missed"}}, "--playbook", synthetic, "--verdict", "missed")
}

// bareNamespace registers a namespace without drillctl's search attributes
// and runs a worker on it.
func bareNamespace(t *testing.T) string {
	t.Helper()
	ns := "e2e-bare-" + uuid.NewString()[:8]
	cl := dialServer(t)
	_, err := cl.WorkflowService().RegisterNamespace(context.Background(), &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)
	var nsClient worker.Client
	require.Eventually(t, func() bool {
		c, err := worker.Dial(context.Background(), worker.Connection{Address: server.FrontendAddress(), Namespace: ns})
		if err != nil {
			return false
		}
		if _, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns}); err != nil {
			c.Close()
			return false
		}
		nsClient = c
		return true
	}, 30*time.Second, 200*time.Millisecond, "namespace %s is ready", ns)
	w := worker.New(nsClient, worker.Options{Activities: testActivities()})
	require.NoError(t, w.Start())
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { w.Stop(); nsClient.Close() }) })
	return ns
}

func TestCLI_ListFiltersItselfOnANamespaceWithoutTheSearchAttributes(t *testing.T) {
	ns := bareNamespace(t)
	on := func(t *testing.T, args ...string) result {
		t.Helper()
		t.Setenv("TEMPORAL_NAMESPACE", ns)
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		t.Setenv("TEMPORAL_ADDRESS", server.FrontendAddress())
		code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb}, append([]string{"drillctl"}, args...))
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	// Drills started the way drillctl did before the attributes existed:
	// the playbook in the memo only.
	cl, err := worker.Dial(context.Background(), worker.Connection{Address: server.FrontendAddress(), Namespace: ns})
	require.NoError(t, err)
	defer cl.Close()
	ids := map[string]string{}
	for _, code := range []int{204, 500} {
		path := writePlaybook(t, oneCallPlaybook("e2e-bare", answering(t, code)))
		pb, err := playbooks.Load(path)
		require.NoError(t, err)
		id := "drill-e2e-bare-" + uuid.NewString()
		run, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: id, TaskQueue: workflows.TaskQueue,
			Memo: map[string]any{"playbook": "e2e-bare"}}, workflows.DrillWorkflow, workflows.DrillInput{DrillID: id, Playbook: *pb})
		require.NoError(t, err)
		_ = run.Get(context.Background(), nil)
		ids[fmt.Sprint(code)] = id
	}

	note := cliListEventually(t, on, []cliListRow{{ids["500"], "e2e-bare", "failed", "failed"}}, "--playbook", "e2e-bare", "--verdict", "failed")
	assert.Contains(t, note, "note: this namespace lacks drillctl's search attributes (DrillPlaybook, DrillStatus, DrillVerdict), "+
		"so drillctl filtered the drills itself; register them with: drillctl setup")
	cliListEventually(t, on, []cliListRow{{ids["500"], "e2e-bare", "failed", "failed"}, {ids["204"], "e2e-bare", "completed", "met"}})
	_, note = cliList(t, on, "--status", "completed")
	assert.Empty(t, note, "the workflow's own status needs no search attribute")

	// Starting a drill there says what is missing.
	r := on(t, "drill", "run", writePlaybook(t, oneCallPlaybook("e2e-bare", answering(t, 204))))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "drillctl setup")
}
