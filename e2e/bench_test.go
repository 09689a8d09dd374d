package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// chainPlaybook writes a playbook of n sequential http steps that do nothing
// (GET a loopback endpoint answering 204), so a drill's duration is almost
// all orchestration.
func chainPlaybook(b testing.TB, url string, n int) *playbooks.Playbook {
	var sb strings.Builder
	fmt.Fprintf(&sb, "apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: bench-chain}\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - {id: s%d, type: http, url: %q", i, url)
		if i > 0 {
			fmt.Fprintf(&sb, ", needs: [s%d]", i-1)
		}
		sb.WriteString("}\n")
	}
	path := filepath.Join(b.TempDir(), "chain.yaml")
	require.NoError(b, os.WriteFile(path, []byte(sb.String()), 0o644))
	pb, err := playbooks.Load(path)
	require.NoError(b, err)
	return pb
}

func noopServer(b testing.TB) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	b.Cleanup(srv.Close)
	return srv.URL
}

// runDrill starts a drill and waits for it, polling its state every poll as
// drillctl does: the result's long poll alone
// sometimes missed the close on the embedded server and waited out its 20 s
// expiry, which would be measured here as orchestration time.
func runDrill(ctx context.Context, b testing.TB, cl worker.Client, pb *playbooks.Playbook, id string, poll time.Duration) *evidence.Record {
	run, err := cl.ExecuteWorkflow(ctx, startOptions(id), workflows.DrillWorkflow, workflows.DrillInput{DrillID: id, Playbook: *pb})
	require.NoError(b, err)
	for {
		desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(b, err)
		if desc.WorkflowExecutionInfo.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			break
		}
		time.Sleep(poll)
	}
	var rec evidence.Record
	require.NoError(b, run.Get(ctx, &rec))
	return &rec
}

// BenchmarkStepOverhead measures the orchestration time of one step on the
// embedded server: schedule the activity, run a step that does nothing,
// record its result. It reports the per-step p50 and p99 from the steps'
// own start and end instants in the drill record.
func BenchmarkStepOverhead(b *testing.B) {
	startWorker(b)
	cl := dialServer(b)
	pb := chainPlaybook(b, noopServer(b), 20)
	ctx := context.Background()
	runDrill(ctx, b, cl, pb, fmt.Sprintf("bench-warm-%d", time.Now().UnixNano()), 5*time.Millisecond)
	var perStep []time.Duration
	var wall time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rec := runDrill(ctx, b, cl, pb, fmt.Sprintf("bench-step-%d-%d", time.Now().UnixNano(), i), 5*time.Millisecond)
		wall += time.Since(start)
		for _, s := range rec.Steps {
			perStep = append(perStep, s.EndedAt.Sub(*s.StartedAt))
		}
	}
	b.StopTimer()
	sort.Slice(perStep, func(i, j int) bool { return perStep[i] < perStep[j] })
	// Wall time of whole drills (start to result) per step, and the spread of
	// single steps from their own instants in the record.
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N*len(pb.Steps))/1e6, "wall-ms/step")
	b.ReportMetric(float64(percentile(perStep, 0.50).Microseconds())/1e3, "p50-ms/step")
	b.ReportMetric(float64(percentile(perStep, 0.99).Microseconds())/1e3, "p99-ms/step")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkConcurrentDrills runs 50 drills of 5 no-op steps at once and
// reports drills per second.
func BenchmarkConcurrentDrills(b *testing.B) {
	startWorker(b)
	cl := dialServer(b)
	pb := chainPlaybook(b, noopServer(b), 5)
	ctx := context.Background()
	const concurrent = 50
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for j := 0; j < concurrent; j++ {
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				runDrill(ctx, b, cl, pb, fmt.Sprintf("bench-conc-%d-%d-%d", time.Now().UnixNano(), i, j), 100*time.Millisecond)
			}(j)
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*concurrent)/b.Elapsed().Seconds(), "drills/s")
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return sorted[i]
}
