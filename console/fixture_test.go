package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/schedule"
	"github.com/drillctl/drillctl/workflows"
)

// testPlaybook is a playbook with every role: carol starts, alice and bob
// approve (not the initiator: four eyes), alice is paged, dave is a contact
// with no role, and vera is a viewer (Config.Viewers).
const testPlaybook = `apiVersion: drillctl/v1
kind: Playbook
metadata: {name: chat, description: Quarterly failover}
identity: unverified
starters: [carol]
targets: {rto: 4h}
contacts:
  alice: {name: Alice, channels: [{console: {}}]}
  bob: {name: Bob, email: bob@example.com, channels: [{console: {}}]}
  carol: {name: Carol, channels: [{console: {}}]}
  dave: {name: Dave, channels: [{console: {}}]}
escalation:
  admins: {levels: [{contacts: [alice], ackTimeout: 10m}]}
steps:
  - {id: page-admins, type: page, escalation: admins}
  - {id: go-no-go, type: approval, needs: [page-admins], approvers: [alice, bob, carol], forbid: [initiator]}
  - {id: failover, type: http, needs: [go-no-go], method: POST, url: "http://127.0.0.1:1/failover", marks: outage_start}
  - {id: restored, type: probe, needs: [failover], marks: service_restored, interval: 1s, timeout: 1m, http: {url: "http://127.0.0.1:1/health"}}
`

const testDrillID = "drill-chat-11111111-2222-3333-4444-555555555555"

func parsePlaybook(t testing.TB, text string) *playbooks.Playbook {
	t.Helper()
	pb, err := playbooks.Parse("chat.yaml", []byte(text))
	require.NoError(t, err)
	return pb
}

// fakeBackend is a Temporal that records what the console asked of it.
type fakeBackend struct {
	mu        sync.Mutex
	drills    map[string]*Drill
	started   []workflows.DrillInput
	approvals []workflows.ApproveInput
	acks      []workflows.AckInput
	aborts    []workflows.AbortInput
	summaries []schedule.Summary
	scheduled map[string]*playbooks.Playbook
	paused    map[string]bool
	skips     map[string][]string
}

var _ Backend = (*fakeBackend)(nil)

// runningDrill is a drill of pb started by carol, its page sent to alice
// and its gate waiting.
func runningDrill(pb *playbooks.Playbook) *Drill {
	started := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	pageAt := started.Add(2 * time.Second)
	target := 14400.0
	return &Drill{
		Running: true,
		Input:   &workflows.DrillInput{DrillID: testDrillID, Playbook: *pb, Initiator: "carol"},
		Record: &evidence.Record{SchemaVersion: 1, DrillID: testDrillID, Playbook: evidence.PlaybookRef{Name: pb.Metadata.Name},
			StartedAt: started, Status: evidence.StatusRunning,
			Identity: &evidence.Identity{Mode: pb.IdentityMode(), InitiatedBy: "carol"},
			Measures: evidence.Measures{RTO: evidence.Measure{TargetSeconds: &target, Verdict: evidence.VerdictNotMeasured}},
			Steps: []evidence.StepRecord{
				{ID: "page-admins", Type: "page", Status: evidence.StepRunning, StartedAt: &pageAt},
				{ID: "go-no-go", Type: "approval", Status: evidence.StepWaiting, StartedAt: &pageAt},
				{ID: "failover", Type: "http", Status: evidence.StepPending},
				{ID: "restored", Type: "probe", Status: evidence.StepPending},
			}},
		Escalations: map[string]*workflows.EscalationResult{"page-admins": {Pages: []evidence.Page{
			{Step: "page-admins", Level: 1, Contact: "alice", Channel: "console", SentAt: pageAt}}}},
	}
}

func newFakeBackend(pb *playbooks.Playbook) *fakeBackend {
	return &fakeBackend{drills: map[string]*Drill{testDrillID: runningDrill(pb)},
		summaries: []schedule.Summary{{Name: "chat-quarterly", Playbook: pb.Metadata.Name, Spec: "quarterly, day 1, 09:00 UTC",
			TimeZone: "UTC", NextRuns: []time.Time{time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)}, Skip: []string{"2026-12-25"}}},
		scheduled: map[string]*playbooks.Playbook{"chat-quarterly": pb}, paused: map[string]bool{}, skips: map[string][]string{}}
}

func (f *fakeBackend) ListDrills(_ context.Context, q ListQuery) ([]DrillSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []DrillSummary
	for _, d := range f.drills {
		if s := summaryOf(d.Record); q.matches(s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeBackend) Drill(_ context.Context, id string) (*Drill, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.drills[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoDrill, id)
	}
	return d, nil
}

func (f *fakeBackend) Start(_ context.Context, in workflows.DrillInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, in)
	return nil
}

func (f *fakeBackend) Approve(_ context.Context, id string, in workflows.ApproveInput) (*evidence.Approval, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.approvals = append(f.approvals, in)
	return &evidence.Approval{Step: in.Step, By: in.By, Approved: !in.Reject, Via: in.Via}, nil
}

func (f *fakeBackend) Ack(_ context.Context, id, step string, in workflows.AckInput) (*evidence.Ack, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acks = append(f.acks, in)
	return &evidence.Ack{Step: step, By: in.By, Via: in.Via}, nil
}

func (f *fakeBackend) Abort(_ context.Context, id string, in workflows.AbortInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborts = append(f.aborts, in)
	return nil
}

func (f *fakeBackend) Schedules(context.Context) ([]schedule.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]schedule.Summary(nil), f.summaries...)
	for i := range out {
		out[i].Paused = f.paused[out[i].Name]
		if s, ok := f.skips[out[i].Name]; ok {
			out[i].Skip = s
		}
	}
	return out, nil
}

func (f *fakeBackend) SchedulePlaybook(_ context.Context, name string) (*playbooks.Playbook, error) {
	if pb, ok := f.scheduled[name]; ok {
		return pb, nil
	}
	return nil, fmt.Errorf("no schedule %s", name)
}

func (f *fakeBackend) PauseSchedule(_ context.Context, name, note string, pause bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused[name] = pause
	return nil
}

func (f *fakeBackend) SetSkip(_ context.Context, name string, skip []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.skips[name] = skip
	return nil
}

// testConsole is a console over a fake backend, served over TLS (the
// session cookie is Secure).
type testConsole struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	backend *fakeBackend
	log     *strings.Builder
	key     []byte
}

func newTestConsole(t *testing.T, mutate ...func(*Config)) *testConsole {
	t.Helper()
	pb := parsePlaybook(t, testPlaybook)
	be := newFakeBackend(pb)
	key := []byte("0123456789abcdef0123456789abcdef")
	logs := &strings.Builder{}
	cfg := Config{Backend: be, Evidence: &evidence.Store{Dir: t.TempDir()}, Key: key, Playbooks: []*playbooks.Playbook{pb},
		Viewers: []string{"vera"}, Log: logs, Version: "test"}
	for _, m := range mutate {
		m(&cfg)
	}
	tc := &testConsole{t: t, backend: be, log: logs, key: key}
	tc.ts = httptest.NewUnstartedServer(nil)
	tc.ts.StartTLS()
	t.Cleanup(tc.ts.Close)
	cfg.PublicURL = tc.ts.URL
	srv, err := New(cfg)
	require.NoError(t, err)
	tc.srv = srv
	tc.ts.Config.Handler = srv
	return tc
}

// client is a browser with its own cookies that follows no redirect.
func (tc *testConsole) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := tc.ts.Client()
	return &http.Client{Transport: c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn returns a browser signed in as name, through a sign-in link.
func (tc *testConsole) signedIn(name string) *http.Client {
	tc.t.Helper()
	c := tc.client()
	link := SignInLink(tc.key, tc.ts.URL, name, time.Minute, time.Now())
	resp, err := c.PostForm(link, nil)
	require.NoError(tc.t, err)
	resp.Body.Close()
	require.Equal(tc.t, http.StatusSeeOther, resp.StatusCode)
	return c
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page the browser is shown.
func (tc *testConsole) csrf(c *http.Client) string {
	tc.t.Helper()
	_, body := tc.get(c, "/drills")
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(tc.t, m, "no CSRF token in the page")
	return m[1]
}

func (tc *testConsole) get(c *http.Client, path string) (*http.Response, string) {
	tc.t.Helper()
	resp, err := c.Get(tc.ts.URL + path)
	require.NoError(tc.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tc.t, err)
	return resp, string(b)
}

func (tc *testConsole) post(c *http.Client, path string, form url.Values) (*http.Response, string) {
	tc.t.Helper()
	resp, err := c.PostForm(tc.ts.URL+path, form)
	require.NoError(tc.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tc.t, err)
	return resp, string(b)
}
