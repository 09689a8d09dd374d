package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// pgPair is a PostgreSQL primary and streaming standby on loopback, started
// by scripts/pg-pair.sh.
type pgPair struct {
	primary, standby string
}

func startPGPair(t *testing.T) pgPair {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL server binaries missing on CI: .ci/run installs Debian's postgresql")
		}
		t.Skip("no PostgreSQL server binaries (apt-get install postgresql)")
	}
	// Not t.TempDir: its parents are private to root and the servers run as postgres.
	dir, err := os.MkdirTemp("", "drillctl-pg-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	script, err := filepath.Abs("../scripts/pg-pair.sh")
	require.NoError(t, err)
	out, err := exec.Command(script, "start", filepath.Join(dir, "pair"), strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))).CombinedOutput()
	t.Cleanup(func() {
		exec.Command(script, "stop", filepath.Join(dir, "pair")).Run()
		os.RemoveAll(dir)
	})
	require.NoError(t, err, "%s", out)
	var p pgPair
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "primary="); ok {
			p.primary = v
		}
		if v, ok := strings.CutPrefix(line, "standby="); ok {
			p.standby = v
		}
	}
	require.NotEmpty(t, p.primary, "%s", out)
	return p
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// pgValue runs a query that returns one text value.
func pgValue(t *testing.T, dsn, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v string
	require.NoError(t, conn.QueryRow(ctx, query).Scan(&v))
	return v
}

// pgExec runs a statement.
func pgExec(t *testing.T, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	require.NoError(t, err)
}

func TestE2E_PostgresFailoverDrill(t *testing.T) {
	startWorker(t)
	pg := startPGPair(t)
	require.Equal(t, "true", pgValue(t, pg.standby, "SELECT pg_is_in_recovery()::text"))

	r := drillctl(t, "drill", "run", "../playbooks/examples/postgres-failover.yaml",
		"--set", "primary="+pg.primary, "--set", "standby="+pg.standby, "--output", "json")
	require.Equal(t, 0, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
	rec := decodeRecord(t, r)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	assert.Equal(t, "false", pgValue(t, pg.standby, "SELECT pg_is_in_recovery()::text"), "the standby ends promoted")
	assert.Equal(t, "on", pgValue(t, pg.primary, "SHOW default_transaction_read_only"), "the old primary is fenced")

	rto, rpo := rec.Measures.RTO, rec.Measures.RPO
	require.NotNil(t, rto.AchievedSeconds, rto.Note)
	require.NotNil(t, rpo.AchievedSeconds, rpo.Note)
	t.Logf("RTO %.3fs (resolution %.1fs), RPO %.3fs (resolution %.1fs)", *rto.AchievedSeconds, *rto.ResolutionSeconds,
		*rpo.AchievedSeconds, *rpo.ResolutionSeconds)
	assert.Greater(t, *rto.AchievedSeconds, 0.0)
	assert.Equal(t, "fence-primary", rto.From.Step)
	assert.Equal(t, "promoted", rto.To.Step)
	assert.Equal(t, 0.2, *rpo.ResolutionSeconds)
	// Streaming replication on loopback keeps up: the newest surviving
	// canary is within a canary interval (+100 ms) of the outage start.
	assert.LessOrEqual(t, *rpo.AchievedSeconds, 0.2+0.1)
	assert.NotContains(t, r.stdout, "password")
}

func TestE2E_PostgresRPOCoversACutInReplication(t *testing.T) {
	startWorker(t)
	pg := startPGPair(t)
	raw, err := os.ReadFile("../playbooks/examples/postgres-failover.yaml")
	require.NoError(t, err)
	// Canaries run 6 s before the fence, so replication can be cut mid-way.
	text := strings.Replace(string(raw), "    duration: 2s\n", "    duration: 6s\n", 1)
	require.NotEqual(t, string(raw), text)
	path := writePlaybook(t, text)

	start := drillctl(t, "drill", "run", path, "--set", "primary="+pg.primary, "--set", "standby="+pg.standby, "--detach")
	require.Equal(t, 0, start.code, start.stderr)
	id := strings.TrimSpace(start.stdout)
	waitForStep(t, id, "canary", evidence.StepRunning)
	time.Sleep(1500 * time.Millisecond) // some canaries replicate first

	// Cut replication: the standby stops receiving WAL.
	cutIssued := time.Now()
	pgExec(t, pg.standby, "ALTER SYSTEM SET primary_conninfo = ''")
	pgExec(t, pg.standby, "SELECT pg_reload_conf()")
	require.Eventually(t, func() bool {
		return pgValue(t, pg.standby, "SELECT count(*)::text FROM pg_stat_wal_receiver") == "0"
	}, 10*time.Second, 20*time.Millisecond, "the WAL receiver stops")
	cutDone := time.Now()

	res := drillctl(t, "drill", "result", id, "--wait", "--output", "json")
	require.Contains(t, []int{0, 3}, res.code, res.stderr)
	rec := decodeRecord(t, res)
	rpo := rec.Measures.RPO
	require.NotNil(t, rpo.AchievedSeconds, rpo.Note)
	outage := rec.Measures.RTO.From.At
	// The newest surviving canary was written before the receiver stopped
	// and at most one interval (+100 ms) before the cut was issued.
	low := outage.Sub(cutDone).Seconds()
	high := outage.Sub(cutIssued).Seconds() + 0.2 + 0.1
	t.Logf("measured RPO %.3fs; true loss window between %.3fs and %.3fs", *rpo.AchievedSeconds, low, high-0.3)
	assert.GreaterOrEqual(t, *rpo.AchievedSeconds, low, "measured RPO %.3fs, loss window [%.3fs, %.3fs]", *rpo.AchievedSeconds, low, high)
	assert.LessOrEqual(t, *rpo.AchievedSeconds, high, "measured RPO %.3fs, loss window [%.3fs, %.3fs]", *rpo.AchievedSeconds, low, high)
	assert.Greater(t, *rpo.AchievedSeconds, 3.0, "about 4.5 s of canaries were lost")
	var records evidence.StepRecord
	for _, s := range rec.Steps {
		if s.ID == "records" {
			records = s
		}
	}
	assert.Greater(t, records.Output["missingOnStandby"], float64(10), "lost canary rows are counted")
}
