package devserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.temporal.io/server/common/dynamicconfig"
)

// quiet drops the SDK's logs: failures speak through assertions.
var quiet = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// waitForSignal is a workflow that returns the first "go" signal's value.
func waitForSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return v, nil
}

// greet is the trivial activity of the end-to-end test.
func greet(_ context.Context, name string) (string, error) { return "hello " + name, nil }

// greetWorkflow runs greet once: a workflow task, an activity, a result.
func greetWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, greet, name).Get(ctx, &out)
	return out, err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start starts a server for a test; its logs are printed only if the test fails.
func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	logs := &lockedBuffer{}
	cfg.LogWriter = logs
	srv, err := Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	return srv
}

func dial(t *testing.T, srv *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func runWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, "devserver-test", worker.Options{})
	w.RegisterWorkflow(waitForSignal)
	w.RegisterWorkflow(greetWorkflow)
	w.RegisterActivity(greet)
	require.NoError(t, w.Start())
	return w
}

func TestServer_UnfinishedWorkflowSurvivesARestartOnTheSameFile(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "state", "temporal.db") // the folder does not exist yet
	first, err := Start(context.Background(), Config{DBFile: dbFile, UIPort: -1})
	require.NoError(t, err)
	c1, err := client.Dial(client.Options{HostPort: first.FrontendAddress(), Namespace: "default", Logger: quiet})
	require.NoError(t, err)
	w1 := runWorker(t, c1)
	run, err := c1.ExecuteWorkflow(context.Background(),
		client.StartWorkflowOptions{ID: "survivor", TaskQueue: "devserver-test"}, waitForSignal)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := c1.DescribeWorkflowExecution(context.Background(), "survivor", "")
		return err == nil && d.PendingWorkflowTask == nil && d.WorkflowExecutionInfo.GetHistoryLength() >= 4
	}, 20*time.Second, 20*time.Millisecond, "the workflow's first task ran")
	w1.Stop()
	c1.Close()
	require.NoError(t, first.Stop())

	second := start(t, Config{DBFile: dbFile, UIPort: -1})
	c2 := dial(t, second)
	d, err := c2.DescribeWorkflowExecution(context.Background(), "survivor", run.GetRunID())
	require.NoError(t, err, "the workflow is known after the restart")
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.WorkflowExecutionInfo.GetStatus())
	w2 := runWorker(t, c2)
	defer w2.Stop()
	require.NoError(t, c2.SignalWorkflow(context.Background(), "survivor", run.GetRunID(), "go", "resumed"))
	var got string
	require.NoError(t, c2.GetWorkflow(context.Background(), "survivor", run.GetRunID()).Get(context.Background(), &got))
	assert.Equal(t, "resumed", got)
}

func TestServer_RunsAWorkflowWithAnActivityOnAFile(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	srv := start(t, Config{DBFile: dbFile, UIPort: -1})
	assert.Empty(t, srv.UIAddress(), "no UI was asked for")
	assert.Equal(t, DefaultNamespace, srv.Namespace())
	c := dial(t, srv)
	w := runWorker(t, c)
	defer w.Stop()

	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "devserver-test"}, greetWorkflow, "drill")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(context.Background(), &got))
	assert.Equal(t, "hello drill", got)

	// The pragmas reached SQLite: a WAL file sits beside the database.
	_, err = os.Stat(dbFile + "-wal")
	assert.NoError(t, err, "journal_mode=wal is in effect")
	// The finished workflow is listed (SQLite visibility).
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "WorkflowType = 'greetWorkflow' AND ExecutionStatus = 'Completed'"})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 10*time.Second, 20*time.Millisecond, "the workflow shows in a list query")
}

func TestServer_StopIsIdempotent(t *testing.T) {
	srv, err := Start(context.Background(), Config{DBFile: MemoryDB, UIPort: 0, Namespace: "drills"})
	require.NoError(t, err)
	assert.Equal(t, "drills", srv.Namespace())
	require.NoError(t, srv.Stop())
	assert.NoError(t, srv.Stop())
}

func TestServer_InMemoryRunsWorkflowsAndServesTheUI(t *testing.T) {
	srv := start(t, Config{DBFile: MemoryDB, UIPort: 0})
	c := dial(t, srv)
	w := runWorker(t, c)
	defer w.Stop()
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: "devserver-test"}, waitForSignal)
	require.NoError(t, err)
	require.NoError(t, c.SignalWorkflow(context.Background(), run.GetID(), "", "go", "ok"))
	var got string
	require.NoError(t, run.Get(context.Background(), &got))
	assert.Equal(t, "ok", got)

	require.NotEmpty(t, srv.UIAddress())
	resp, err := http.Get(srv.UIAddress() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestServer_PortInUseIsAClearErrorNotAnExit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port

	_, err = Start(context.Background(), Config{DBFile: MemoryDB, Port: busy, UIPort: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "port "+strconv.Itoa(busy)+" is in use")
	assert.Contains(t, err.Error(), "--port")

	_, err = Start(context.Background(), Config{DBFile: MemoryDB, UIPort: busy})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "port "+strconv.Itoa(busy)+" is in use")
	assert.Contains(t, err.Error(), "--ui-port")

	_, err = Start(context.Background(), Config{DBFile: MemoryDB, Port: 17233, UIPort: 17233})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot share port 17233")
	// Still here: the process was not ended by a listen error.
}

func TestServer_NeedsADatabase(t *testing.T) {
	_, err := Start(context.Background(), Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no database file")
}

func TestDefaultDBFile_UnderTheStateDirectory(t *testing.T) {
	for _, tc := range []struct{ name, own, xdg, home, want string }{
		{"XDG_STATE_HOME set", "", "/tmp/state-home", "/home/u", "/tmp/state-home/drillctl"},
		{"XDG_STATE_HOME unset", "", "", "/home/u", "/home/u/.local/state/drillctl"},
		{"relative XDG_STATE_HOME ignored", "", "state", "/home/u", "/home/u/.local/state/drillctl"},
		{"DRILLCTL_STATE_DIR wins", "/srv/drills", "/tmp/state-home", "/home/u", "/srv/drills"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(StateDirEnv, tc.own)
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			got, err := DefaultDBFile()
			require.NoError(t, err)
			assert.Equal(t, tc.want+"/temporal.db", got)
			got, err = DefaultTLSDir()
			require.NoError(t, err)
			assert.Equal(t, tc.want+"/tls", got)
		})
	}
}

func TestDynamicConfig_EveryKeyIsAServerSettingWithAValidValue(t *testing.T) {
	// The server ignores keys it does not know, so a misspelt key would
	// silently change nothing: check each against the server's own settings.
	known := map[dynamicconfig.Key]dynamicconfig.GenericSetting{}
	for _, s := range []dynamicconfig.GenericSetting{
		dynamicconfig.TransferProcessorMaxPollRPS,
		dynamicconfig.TimerProcessorMaxPollRPS,
		dynamicconfig.VisibilityProcessorMaxPollRPS,
		dynamicconfig.MatchingNumTaskqueueReadPartitions,
		dynamicconfig.MatchingNumTaskqueueWritePartitions,
		dynamicconfig.EnableActivityEagerExecution,
		dynamicconfig.EnableEagerWorkflowStart,
		dynamicconfig.FrontendEnableUpdateWorkflowExecution,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted,
		dynamicconfig.FrontendEnableSchedules,
		dynamicconfig.WorkerEnableScheduler,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance,
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead,
		dynamicconfig.FrontendPersistenceMaxQPS,
		dynamicconfig.HistoryPersistenceMaxQPS,
		dynamicconfig.HistoryCacheHostLevelMaxSize,
	} {
		known[s.Key()] = s
	}
	for _, m := range []map[string]any{LowLatencyDynamicConfig, featureDynamicConfig} {
		for k, v := range m {
			s, ok := known[dynamicconfig.MakeKey(k)]
			if assert.True(t, ok, "%s is not a known server setting", k) {
				assert.NoError(t, s.Validate(v), k)
			}
		}
	}
}

func TestDynamicConfig_CallerOverridesWin(t *testing.T) {
	dyn := dynamicConfig(true, map[string]any{"matching.numTaskqueueReadPartitions": 4})
	assert.Equal(t, 4, dyn[dynamicconfig.MakeKey("matching.numTaskqueueReadPartitions")])
	assert.Equal(t, 1, dyn[dynamicconfig.MakeKey("matching.numTaskqueueWritePartitions")])
	assert.Equal(t, true, dyn[dynamicconfig.MakeKey("frontend.enableUpdateWorkflowExecution")])

	defaults := dynamicConfig(false, nil)
	assert.NotContains(t, defaults, dynamicconfig.MakeKey("history.transferProcessorMaxPollRPS"))
}
