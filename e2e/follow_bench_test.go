package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/evidence"
)

// What following a drill costs: `drill run` waits for its drill with long
// polls on the drill's history; drillctl used to poll its state every
// 100 ms (DRILLCTL_FOLLOW=poll brings that back, for comparison). Both are
// measured here, the CLI in-process against the embedded server, as a
// coordinator's terminals (or a script) would run it:
//
//	go test ./e2e -run '^$' -bench 'Follow' -benchtime 2x

// followModes are the ways `drill run` can follow its drill.
var followModes = []struct{ name, env string }{{"longpoll", ""}, {"poll100ms", "poll"}}

// chainFile writes a playbook named name of n sequential http steps that
// do nothing (GET a loopback endpoint answering 204) and returns its path.
// Drills of one playbook run one at a time (its name is locked): drills
// run at once need playbooks of their own.
func chainFile(b testing.TB, name, url string, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "apiVersion: drillctl/v1\nkind: Playbook\nmetadata: {name: %s}\nsteps:\n", name)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - {id: s%d, type: http, url: %q", i, url)
		if i > 0 {
			fmt.Fprintf(&sb, ", needs: [s%d]", i-1)
		}
		sb.WriteString("}\n")
	}
	path := filepath.Join(b.TempDir(), "chain.yaml")
	require.NoError(b, os.WriteFile(path, []byte(sb.String()), 0o644))
	return path
}

// runFollowedCode runs `drillctl drill run FILE` in-process, following the
// drill the given way (the FollowEnv value), with --output json or, when
// progress is true, --follow (the plain progress lines of a pipe), and
// returns the drill's id.
func runFollowedCode(ctx context.Context, b testing.TB, mode, file string, progress bool) string {
	var out, errb bytes.Buffer
	env := func(k string) string {
		if k == cli.FollowEnv {
			return mode
		}
		return os.Getenv(k)
	}
	args := []string{"drillctl", "drill", "run", file, "--output", "json"}
	if progress {
		args = []string{"drillctl", "drill", "run", file, "--follow"}
	}
	code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: env}, args)
	if code != 0 {
		b.Errorf("drill run exited %d: %s%s", code, errb.String(), out.String())
		return ""
	}
	if progress { // first line: drill ID (times in …)
		if f := strings.Fields(out.String()); len(f) > 1 {
			return f[1]
		}
		return ""
	}
	var rec evidence.Record
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		b.Errorf("drill run --output json: %v: %s", err, out.String())
	}
	return rec.DrillID
}

// cpuTime is the CPU time this process (server, worker and CLIs) has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFollowedDrills runs 200 drills of 5 no-op steps at once, each
// started and followed by its own `drill run`, and reports followed drills
// per second and the CPU time the whole process (server, worker, the 200
// CLIs) spent per drill.
func BenchmarkFollowedDrills(b *testing.B) {
	startWorker(b)
	const followers = 200
	url := noopServer(b)
	files := make([]string, followers)
	for j := range files {
		files[j] = chainFile(b, fmt.Sprintf("bench-follow-%d", j), url, 5)
	}
	b.Setenv("TEMPORAL_ADDRESS", server.FrontendAddress())
	b.Setenv("TEMPORAL_NAMESPACE", server.Namespace())
	for _, m := range followModes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for j := 0; j < followers; j++ {
					wg.Add(1)
					go func(file string) {
						defer wg.Done()
						runFollowedCode(ctx, b, m.env, file, false)
					}(files[j])
				}
				wg.Wait()
			}
			b.StopTimer()
			drills := float64(b.N * followers)
			b.ReportMetric(drills/b.Elapsed().Seconds(), "drills/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/drills, "cpu-ms/drill")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkFollowOneStepDrill runs a drill of one no-op step with
// `drill run`, one at a time, and reports how long the command took beside
// how long the drill's workflow ran (start to close, on the server): with
// --output json, and with --follow (progress lines).
func BenchmarkFollowOneStepDrill(b *testing.B) {
	startWorker(b)
	file := chainFile(b, "bench-follow-one", noopServer(b), 1)
	b.Setenv("TEMPORAL_ADDRESS", server.FrontendAddress())
	b.Setenv("TEMPORAL_NAMESPACE", server.Namespace())
	cl := dialServer(b)
	for _, m := range followModes {
		for _, progress := range []bool{false, true} {
			name := m.name + "/json"
			if progress {
				name = m.name + "/follow"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				runFollowedCode(ctx, b, m.env, file, progress) // warm up
				var cliTimes, drillTimes, overheads []time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					start := time.Now()
					id := runFollowedCode(ctx, b, m.env, file, progress)
					took := time.Since(start)
					desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
					require.NoError(b, err)
					info := desc.GetWorkflowExecutionInfo()
					drill := info.GetCloseTime().AsTime().Sub(info.GetStartTime().AsTime())
					cliTimes, drillTimes, overheads = append(cliTimes, took), append(drillTimes, drill), append(overheads, took-drill)
				}
				b.StopTimer()
				for _, d := range [][]time.Duration{cliTimes, drillTimes, overheads} {
					sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
				}
				b.ReportMetric(ms(percentile(cliTimes, 0.5)), "cli-ms")
				b.ReportMetric(ms(percentile(drillTimes, 0.5)), "drill-ms")
				b.ReportMetric(ms(percentile(overheads, 0.5)), "overhead-p50-ms")
				b.ReportMetric(ms(percentile(overheads, 0.9)), "overhead-p90-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
