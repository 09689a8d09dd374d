package devserver

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// stepsPerWorkflow bounds one benchmark workflow's history; b.N activities
// run in as many workflows as needed, one after the other.
const stepsPerWorkflow = 100

// stepClock records when each no-op activity starts.
type stepClock struct {
	mu     sync.Mutex
	starts []time.Time
}

// Step is the no-op activity: it only notes when it ran.
func (c *stepClock) Step(context.Context) error {
	c.mu.Lock()
	c.starts = append(c.starts, time.Now())
	c.mu.Unlock()
	return nil
}

// take returns the starts recorded since the last call.
func (c *stepClock) take() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.starts
	c.starts = nil
	return s
}

// sequentialSteps runs n no-op activities one after the other, as a drill
// runs dependent steps.
func sequentialSteps(ctx workflow.Context, n int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var c *stepClock
	for range n {
		if err := workflow.ExecuteActivity(ctx, c.Step).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkSequentialActivity measures one drill step on the embedded server
// with a worker in the process: ns/op is the time per sequential no-op
// activity, p50-ms and p99-ms the spread of the time from one activity's
// start to the next one's. The cases add the low-latency settings one by one
// to the server's defaults, then vary the worker's options. Run it with a
// fixed count, so the queues' rate-limit burst does not flatter the
// defaults:
//
//	go test -run '^$' -bench SequentialActivity -benchtime 300x ./devserver/
func BenchmarkSequentialActivity(b *testing.B) {
	partitions := map[string]any{
		"matching.numTaskqueueReadPartitions":  1,
		"matching.numTaskqueueWritePartitions": 1,
	}
	queuePolls := map[string]any{
		"history.transferProcessorMaxPollRPS":   1000,
		"history.timerProcessorMaxPollRPS":      1000,
		"history.visibilityProcessorMaxPollRPS": 1000,
	}
	noEager := map[string]any{"system.enableActivityEagerExecution": false}
	cases := []struct {
		name string
		cfg  Config
		opts worker.Options
	}{
		{name: "server-defaults", cfg: Config{serverDefaults: true}},
		{name: "server-defaults+one-partition", cfg: Config{serverDefaults: true, DynamicConfig: partitions}},
		{name: "server-defaults+queue-poll-rps", cfg: Config{serverDefaults: true, DynamicConfig: queuePolls}},
		{name: "server-defaults+sqlite-wal", cfg: Config{serverDefaults: true, SQLitePragmas: DefaultSQLitePragmas}},
		{name: "server-defaults+queue-poll-rps+sqlite-wal", cfg: Config{serverDefaults: true, DynamicConfig: queuePolls, SQLitePragmas: DefaultSQLitePragmas}},
		{name: "low-latency", cfg: Config{}},
		{name: "low-latency-without-eager-activities", cfg: Config{DynamicConfig: noEager}},
		{name: "low-latency+in-memory", cfg: Config{DBFile: MemoryDB}},
		// Worker options (the worker lives in worker/; these show what matters).
		{name: "low-latency+worker-no-eager-activities", opts: worker.Options{DisableEagerActivities: true}},
		{name: "low-latency+worker-4-pollers", opts: worker.Options{
			MaxConcurrentWorkflowTaskPollers: 4, MaxConcurrentActivityTaskPollers: 4}},
		{name: "low-latency+worker-autoscaling-pollers", opts: worker.Options{
			WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
			ActivityTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			cfg := tc.cfg
			if cfg.DBFile == "" {
				cfg.DBFile = filepath.Join(b.TempDir(), "temporal.db")
			}
			cfg.UIPort = -1
			logs := &lockedBuffer{}
			cfg.LogWriter = logs
			srv, err := Start(context.Background(), cfg)
			require.NoError(b, err)
			defer func() {
				require.NoError(b, srv.Stop())
				if b.Failed() {
					b.Logf("server logs:\n%s", logs.String())
				}
			}()
			c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet})
			require.NoError(b, err)
			defer c.Close()
			clock := &stepClock{}
			w := worker.New(c, "bench", tc.opts)
			w.RegisterWorkflow(sequentialSteps)
			w.RegisterActivity(clock)
			require.NoError(b, w.Start())
			defer w.Stop()

			run := func(n int) {
				r, err := c.ExecuteWorkflow(context.Background(),
					client.StartWorkflowOptions{TaskQueue: "bench", EnableEagerStart: true}, sequentialSteps, n)
				require.NoError(b, err)
				require.NoError(b, r.Get(context.Background(), nil))
			}
			run(10) // warm up: first poll, caches, sticky queue
			clock.take()

			var gaps []time.Duration
			b.ResetTimer()
			for left := b.N; left > 0; left -= stepsPerWorkflow {
				run(min(left, stepsPerWorkflow))
				starts := clock.take()
				for i := 1; i < len(starts); i++ {
					gaps = append(gaps, starts[i].Sub(starts[i-1]))
				}
			}
			b.StopTimer()
			if len(gaps) > 0 {
				slices.Sort(gaps)
				ms := func(q float64) float64 {
					return float64(gaps[int(q*float64(len(gaps)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(ms(0.50), "p50-ms")
				b.ReportMetric(ms(0.99), "p99-ms")
			}
		})
	}
}
