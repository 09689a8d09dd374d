package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
	"github.com/drillctl/drillctl/workflows"
)

// Temporal as it runs beyond one machine: a Temporal server on PostgreSQL
// in a process of its own (e2e/testdata/pgtemporal), drillctl workers in
// processes of their own (the drillctl binary), each connecting through a
// profile of the Temporal CLI's config file, as they would on other hosts.

// postgresBin is the folder of Debian's PostgreSQL server binaries; the
// test is skipped without them (except on CI).
func postgresBin(t *testing.T) string {
	t.Helper()
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(found) > 0 {
		return filepath.Dir(found[len(found)-1])
	}
	if pgCtl, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(pgCtl)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("PostgreSQL server binaries missing on CI: .ci/run installs Debian's postgresql")
	}
	t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql to run Temporal on PostgreSQL")
	return ""
}

// startPostgres starts a PostgreSQL server in a folder of its own on a
// free loopback port, as scripts/pg-pair.sh does (as the postgres user
// when run as root: PostgreSQL refuses root), and returns its host:port.
func startPostgres(t *testing.T, bin string) string {
	t.Helper()
	// Not t.TempDir: its parents are private to root and the server runs as postgres.
	dir, err := os.MkdirTemp("", "drillctl-prod-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	asPG := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if os.Geteuid() == 0 {
		require.NoError(t, exec.Command("chown", "postgres:", dir).Run())
	}
	data := filepath.Join(dir, "data")
	out, err := asPG("initdb", "-D", data, "-U", "postgres", "--auth=trust").CombinedOutput()
	require.NoError(t, err, "%s", out)
	port := freePort(t)
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = off\nmax_connections = 200\n", port, dir)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(conf)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out, err = asPG("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "start").CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		_ = asPG("pg_ctl", "-D", data, "-m", "immediate", "stop").Run()
		os.RemoveAll(dir)
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// buildBinaries builds drillctl and the PostgreSQL Temporal server into
// dir, once, in the background: the returned function waits for them.
func buildBinaries(t *testing.T, dir string) func() {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator), "./testdata/pgtemporal", "../cmd/drillctl")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	require.NoError(t, cmd.Start())
	return func() {
		require.NoError(t, cmd.Wait(), "go build: %s", out.String())
		t.Logf("built drillctl and pgtemporal in %s", time.Since(began).Round(time.Second))
	}
}

// process is a child process whose output goes to files.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr string
}

func (p *process) out() string    { b, _ := os.ReadFile(p.stdout); return string(b) }
func (p *process) errOut() string { b, _ := os.ReadFile(p.stderr); return string(b) }

// startProcess starts a binary with the given environment; it is ended
// (SIGTERM, then SIGKILL) at cleanup, and its output shown if the test failed.
func startProcess(t *testing.T, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	dir := t.TempDir()
	p := &process{stdout: filepath.Join(dir, name+".out"), stderr: filepath.Join(dir, name+".err")}
	stdout, err := os.Create(p.stdout)
	require.NoError(t, err)
	stderr, err := os.Create(p.stderr)
	require.NoError(t, err)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, stdout, stderr
	require.NoError(t, p.cmd.Start())
	exited := make(chan struct{})
	go func() { _ = p.cmd.Wait(); stdout.Close(); stderr.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("--- %s stdout ---\n%s\n--- %s stderr (tail) ---\n%s", name, p.out(), name, tail(p.errOut(), 6000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitOutput waits until a process prints a line starting with prefix, and
// returns the rest of that line.
func waitOutput(t *testing.T, p *process, prefix string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.out()))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				return rest
			}
		}
		if p.cmd.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never printed %q:\n%s\n%s", p.cmd.Path, prefix, p.out(), tail(p.errOut(), 4000))
	return ""
}

// prodEnv is the environment of the test's processes and in-process CLI:
// no TEMPORAL_* of the machine's, the profile file, a state directory of
// their own.
func prodEnv(t *testing.T, profileFile, stateDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "DRILLCTL_") {
			env = append(env, kv)
		}
	}
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TLS", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY",
		"TEMPORAL_TLS_CA", "TEMPORAL_API_KEY", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", profileFile)
	t.Setenv("TEMPORAL_PROFILE", "prod")
	t.Setenv("DRILLCTL_STATE_DIR", stateDir)
	t.Setenv("DRILLCTL_CHROMIUM", "off")
	return append(env, "TEMPORAL_CONFIG_FILE="+profileFile, "TEMPORAL_PROFILE=prod", "DRILLCTL_STATE_DIR="+stateDir,
		"DRILLCTL_CHROMIUM=off")
}

// drillctlProd runs the CLI in-process with the profile's connection.
func drillctlProd(t *testing.T, args ...string) result {
	t.Helper()
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: out, Err: errb, Env: os.Getenv}, append([]string{"drillctl"}, args...))
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestProd_ADrillOnPostgresSurvivesTheLossOfAWorker runs a Temporal server
// on PostgreSQL and two drillctl worker processes; the worker running the
// drill's restore probe is killed (SIGKILL); the other carries the probe
// on, the drill completes, and the failover ran once.
func TestProd_ADrillOnPostgresSurvivesTheLossOfAWorker(t *testing.T) {
	bin := postgresBin(t)
	binDir := t.TempDir()
	built := buildBinaries(t, binDir)
	pg := startPostgres(t, bin)
	built()
	drillctlBin, pgtemporalBin := filepath.Join(binDir, "drillctl"), filepath.Join(binDir, "pgtemporal")

	port := freePorts(t, 9)
	temporal := startProcess(t, "pgtemporal", os.Environ(), pgtemporalBin, "-pg", pg, "-port", strconv.Itoa(port), "-namespace", "drills")
	began := time.Now()
	address := waitOutput(t, temporal, "ready ", 3*time.Minute)
	t.Logf("Temporal on PostgreSQL ready at %s in %s (schema set up by the server's tool)", address, time.Since(began).Round(100*time.Millisecond))

	profile := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(profile, []byte(fmt.Sprintf("[profile.prod]\naddress = %q\nnamespace = \"drills\"\n", address)), 0o600))
	env := prodEnv(t, profile, t.TempDir())

	// The namespace is made ready for drills, as an operator would.
	registered := time.Now()
	setup := drillctlProd(t, "setup", "--output", "json")
	require.Equal(t, 0, setup.code, setup.stderr)
	var ready struct {
		Namespace string   `json:"namespace"`
		Added     []string `json:"added"`
	}
	require.NoError(t, json.Unmarshal([]byte(setup.stdout), &ready))
	assert.Equal(t, "drills", ready.Namespace, "the profile's namespace")
	assert.Len(t, ready.Added, 5)

	evidenceStore := t.TempDir()
	workers := map[int]*process{}
	metricsOf := map[int]string{}
	for i := range 2 {
		addr := freeAddr(t)
		w := startProcess(t, fmt.Sprintf("worker%d", i+1), env, drillctlBin, "--log-format", "json", "worker", "--trust", "any",
			"--evidence-dir", evidenceStore, "--ack-addr", "", "--metrics-addr", addr, "--drain", "1s")
		waitOutput(t, w, "worker polling task queue drillctl on "+address+" (namespace drills)", time.Minute)
		workers[w.cmd.Process.Pid], metricsOf[w.cmd.Process.Pid] = w, addr
	}

	// A drill whose restore probe waits for the test.
	p := newPlatform(t, 0)
	p.manual.Store(true)
	pb, err := playbooks.Load(writePlaybook(t, simplePlaybook(p.srv.URL)))
	require.NoError(t, err)
	in := workflows.DrillInput{DrillID: "drill-" + pb.Metadata.Name + "-" + uuid.NewString(), Playbook: *pb,
		Params: pb.Params, Initiator: "e2e-prod"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := worker.Dial(ctx, worker.Connection{Environment: true})
	require.NoError(t, err)
	defer cl.Close()
	require.Eventually(t, func() bool { // the namespace cache learns of the attributes
		_, err = cl.ExecuteWorkflow(ctx, worker.StartOptions(in), workflows.DrillWorkflow, in)
		return err == nil
	}, 30*time.Second, 250*time.Millisecond, "start with the search attributes: %v", err)
	t.Logf("search attributes usable %s after drillctl setup began", time.Since(registered).Round(100*time.Millisecond))

	// Find the worker running the probe, and kill it.
	var victim int
	require.Eventually(t, func() bool {
		desc, err := cl.DescribeWorkflowExecution(ctx, in.DrillID, "")
		if err != nil {
			return false
		}
		if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			res := drillctlProd(t, "drill", "result", in.DrillID, "--output", "json")
			t.Fatalf("the drill ended before its probe ran: %s%s", res.stdout, res.stderr)
		}
		for _, a := range desc.GetPendingActivities() {
			if a.GetActivityType().GetName() == "RunProbe" && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				pid, _ := strconv.Atoi(strings.SplitN(a.GetLastWorkerIdentity(), "@", 2)[0])
				victim = pid
				return workers[pid] != nil
			}
		}
		return false
	}, time.Minute, 100*time.Millisecond, "the probe starts on one of the workers")
	time.Sleep(500 * time.Millisecond) // a few probes fail: the outage is seen
	require.NoError(t, workers[victim].cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	p.restoreNow()
	var survivor int
	for pid := range workers {
		if pid != victim {
			survivor = pid
		}
	}

	res := drillctlProd(t, "drill", "result", in.DrillID, "--wait", "--output", "json")
	require.Equal(t, 0, res.code, "stderr: %s\nstdout: %s", res.stderr, res.stdout)
	rec := decodeRecord(t, res)
	t.Logf("drill completed %s after the kill; RTO %.3fs", time.Since(killed).Round(100*time.Millisecond), *rec.Measures.RTO.AchievedSeconds)
	assert.Equal(t, evidence.StatusCompleted, rec.Status)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	assert.Equal(t, "drills", rec.Namespace)
	restored := stepOf(t, rec, "restored")
	assert.Contains(t, restored.Note, "worker or server lost", "the probe carried on on the other worker")
	failovers, failbacks := p.counts()
	assert.Equal(t, 1, failovers, "the failover ran once")
	assert.Equal(t, 0, failbacks)

	// The survivor wrote the evidence, its metrics say so, and its log names the drill and step.
	require.NotNil(t, rec.Evidence, rec.EvidenceError)
	verify := drillctlProd(t, "evidence", "verify", in.DrillID, "--evidence-dir", evidenceStore)
	assert.Equal(t, 0, verify.code, verify.stdout+verify.stderr)
	fam, _ := scrapeMetrics(t, "http://"+metricsOf[survivor]+"/metrics")
	v, _ := metricValue(fam, "drillctl_drills_total", map[string]string{"playbook": pb.Metadata.Name, "status": "completed", "verdict": "met"})
	assert.Equal(t, 1.0, v)
	n, ok := metricValue(fam, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "RunProbe", "namespace": "drills"})
	assert.True(t, ok && n >= 1, "the SDK's metrics of the carried-on probe")
	var probeLine bool
	for _, line := range logLines(t, workers[survivor].errOut()) {
		probeLine = probeLine || (line["msg"] == "activity completed" && line["drill"] == in.DrillID && line["step"] == "restored")
	}
	assert.True(t, probeLine, "the survivor logged the probe's end with its drill and step")

	// Visibility on PostgreSQL finds the drill by its search attributes.
	query := fmt.Sprintf("DrillPlaybook = '%s' AND DrillInitiator = 'e2e-prod'", pb.Metadata.Name)
	require.Eventually(t, func() bool {
		resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "drills", Query: query})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == in.DrillID
	}, 10*time.Second, 100*time.Millisecond, query)
}

// freePorts finds n consecutive free loopback ports and returns the first,
// below 32768: the server keeps membership ports in a PostgreSQL smallint.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		first := 12000 + int(time.Now().UnixNano()%20000)
		free := true
		for p := first; p < first+n && free; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return first
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}
