package devserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// quiet drops the SDK's logs: failures speak through assertions.
var quiet = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// waitForSignal is a workflow that returns the first "go" signal's value.
func waitForSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, &v)
	return v, nil
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
	w2 := runWorker(t, c2)
	defer w2.Stop()
	require.NoError(t, c2.SignalWorkflow(context.Background(), "survivor", run.GetRunID(), "go", "resumed"))
	var got string
	require.NoError(t, c2.GetWorkflow(context.Background(), "survivor", run.GetRunID()).Get(context.Background(), &got))
	assert.Equal(t, "resumed", got)
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
	assert.Contains(t, err.Error(), "--ui-port")
}

func TestServer_NeedsADatabase(t *testing.T) {
	_, err := Start(context.Background(), Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no database file")
}

func TestDefaultDBFile_UnderTheStateDirectory(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/tmp/state-home")
	got, err := DefaultDBFile()
	require.NoError(t, err)
	assert.Equal(t, "/tmp/state-home/drillctl/temporal.db", got)
}
