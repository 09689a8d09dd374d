package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// realLab is the two-site lab of real components (PostgreSQL, OpenLDAP,
// an rsync-copied attachment store, HAProxy) that scripts/real-lab.sh runs
// on loopback, with the truth it records of what it did.
type realLab struct {
	dir, script string
	sets        []string          // the --set flags start printed
	params      map[string]string // the same, by name
	password    string            // the directory's password (the worker's REAL_LAB_LDAP_PASSWORD)
}

// realLabTools are the programs the lab runs, from Debian's postgresql,
// slapd, ldap-utils, haproxy, rsync and socat.
var realLabTools = []string{"slapd", "slapadd", "slappasswd", "ldapmodify", "ldapsearch", "haproxy", "rsync", "socat"}

func startRealLab(t *testing.T) *realLab {
	t.Helper()
	var missing []string
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(bins) == 0 {
		missing = append(missing, "initdb")
	}
	for _, tool := range realLabTools {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				missing = append(missing, tool)
			}
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("the real lab needs %s: apt-get install postgresql slapd ldap-utils haproxy rsync socat", strings.Join(missing, ", "))
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (.ci/run installs them)")
		}
		t.Skip(msg)
	}
	lab := &realLab{password: fmt.Sprintf("lab%016x", rand.Uint64()), params: map[string]string{}}
	// The worker (in this process) resolves ${env:REAL_LAB_LDAP_PASSWORD};
	// the lab takes the same password.
	t.Setenv("REAL_LAB_LDAP_PASSWORD", lab.password)
	// Not t.TempDir: its parents are private to root and PostgreSQL runs as postgres.
	parent, err := os.MkdirTemp("", "drillctl-reallab-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(parent, 0o755))
	lab.dir = filepath.Join(parent, "lab")
	lab.script, err = filepath.Abs("../scripts/real-lab.sh")
	require.NoError(t, err)
	t.Cleanup(func() {
		if out, err := exec.Command(lab.script, "stop", lab.dir).CombinedOutput(); err != nil {
			t.Logf("real-lab.sh stop: %v: %s", err, out)
		}
		os.RemoveAll(parent)
	})
	began := time.Now()
	out, err := exec.Command(lab.script, "start", lab.dir, strconv.Itoa(freePortRun(t, 6))).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, line := range strings.Split(string(out), "\n") {
		if kv, ok := strings.CutPrefix(line, "--set "); ok {
			lab.sets = append(lab.sets, "--set", kv)
			k, v, _ := strings.Cut(kv, "=")
			lab.params[k] = v
		}
	}
	require.NotEmpty(t, lab.params["front"], "%s", out)
	t.Logf("real lab started in %s", time.Since(began).Round(time.Millisecond))
	return lab
}

// freePortRun finds n consecutive free loopback ports and returns the first.
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(30000)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// lab runs a real-lab.sh command on the lab.
func (l *realLab) run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(l.script, append([]string{args[0], l.dir}, args[1:]...)...).CombinedOutput()
	require.NoError(t, err, "real-lab.sh %s: %s", args[0], out)
	return string(out)
}

// drill runs a shipped real-*.yaml playbook against the lab.
func (l *realLab) drill(t *testing.T, playbook string) (result, *evidence.Record) {
	t.Helper()
	began := time.Now()
	args := append([]string{"drill", "run", "../playbooks/examples/" + playbook}, l.sets...)
	r := drillctl(t, append(args, "--output", "json")...)
	rec := decodeRecord(t, r)
	t.Logf("%s: exit %d, status %s, verdict %s, in %s", playbook, r.code, rec.Status, rec.Verdict, time.Since(began).Round(time.Millisecond))
	assert.NotContains(t, r.stdout+r.stderr, l.password, "the directory's password never leaves the worker")
	return r, rec
}

// truth is the lab's truth.json.
func (l *realLab) truth(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(l.dir, "truth.json"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc), "%s", raw)
	return doc
}

func truthInstant(t *testing.T, truth map[string]any, key string) time.Time {
	t.Helper()
	s, _ := truth[key].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "truth %s = %v", key, truth[key])
	return at
}

func achieved(t *testing.T, m evidence.Measure) float64 {
	t.Helper()
	require.NotNil(t, m.AchievedSeconds, "not measured: %s", m.Note)
	return *m.AchievedSeconds
}

// dsnPort is the port of a postgres:// DSN.
func dsnPort(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Port()
}

// ldapConn binds to a lab directory server as its administrator.
func (l *realLab) ldapConn(t *testing.T, url string) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.Bind("cn=admin,dc=example,dc=com", l.password))
	return conn
}

func grantFinance(conn *ldap.Conn, uid string) error {
	m := ldap.NewModifyRequest("cn=finance,ou=groups,dc=example,dc=com", nil)
	m.Add("member", []string{"uid=" + uid + ",ou=people,dc=example,dc=com"})
	return conn.Modify(m)
}

func financeMembers(t *testing.T, conn *ldap.Conn) []string {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest("cn=finance,ou=groups,dc=example,dc=com", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 5, false, "(objectClass=*)", []string{"member"}, nil))
	require.NoError(t, err)
	return res.Entries[0].GetAttributeValues("member")
}

func TestRealLab_SwitchoverThenFailbackEndsInTheStartingState(t *testing.T) {
	startWorker(t)
	lab := startRealLab(t)
	p := lab.params

	r, rec := lab.drill(t, "real-switchover.yaml")
	require.Equal(t, 0, r.code, "stderr: %s\nreason: %s", r.stderr, rec.Reason)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	rpo, perm := achieved(t, rec.Measures.RPO), achieved(t, rec.Measures.PermissionRPO)
	t.Logf("switchover: RTO %.3fs, RPO %.3fs, permission RPO %.6fs", achieved(t, rec.Measures.RTO), rpo, perm)
	assert.LessOrEqual(t, rpo, 0.2+0.1, "planned: the newest surviving canary is within an interval of the outage start")
	assert.Zero(t, perm, "planned: the consumer caught up before it was promoted")
	for _, id := range []string{"permissions", "records", "attachments"} {
		assert.Equal(t, evidence.StepSucceeded, stepOf(t, rec, id).Status, id)
	}
	assert.Equal(t, "false", pgValue(t, p["standby"], "SELECT pg_is_in_recovery()::text"))
	assert.Equal(t, dsnPort(t, p["standby"]), pgValue(t, p["front"], "SELECT inet_server_port()::text"), "the front door leads to the standby site")

	r, rec = lab.drill(t, "real-failback.yaml")
	require.Equal(t, 0, r.code, "stderr: %s\nreason: %s", r.stderr, rec.Reason)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	t.Logf("failback: RTO %.3fs, RPO %.3fs", achieved(t, rec.Measures.RTO), achieved(t, rec.Measures.RPO))

	// The starting state: the primary site serves, the standby site follows
	// it (database, directory, attachments), the front door is as it was.
	assert.Equal(t, "false", pgValue(t, p["primary"], "SELECT pg_is_in_recovery()::text"))
	assert.Equal(t, "true", pgValue(t, p["standby"], "SELECT pg_is_in_recovery()::text"))
	assert.Equal(t, "streaming", pgValue(t, p["standby"], "SELECT coalesce(max(status), 'none') FROM pg_stat_wal_receiver"))
	assert.Equal(t, dsnPort(t, p["primary"]), pgValue(t, p["front"], "SELECT inet_server_port()::text"), "the front door leads to the primary site")
	state, err := exec.Command("sh", "-c", `echo "show servers state" | socat -t 2 stdio "UNIX-CONNECT:$1"`, "sh", p["haproxySocket"]).Output()
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(string(state), " 127.0.0.1 2 0 "), "every server of the front door is up and ready:\n%s", state)

	provider, consumer := lab.ldapConn(t, p["ldapPrimary"]), lab.ldapConn(t, p["ldapStandby"])
	require.NoError(t, grantFinance(provider, "carol"), "the primary site's directory takes writes")
	assert.Eventually(t, func() bool {
		return strings.Contains(strings.Join(financeMembers(t, consumer), " "), "uid=carol")
	}, 5*time.Second, 20*time.Millisecond, "the standby site's directory replicates it")
	assert.True(t, ldap.IsErrorWithCode(grantFinance(consumer, "dave"), ldap.LDAPResultReferral), "the standby site's directory refers writes to the provider")

	lab.run(t, "post", "alice", "after the failback", "minutes.txt")
	assert.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(p["filesStandby"], "attachments", "minutes.txt"))
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "attachments are copied to the standby site again")
}

func TestRealLab_SiteLossMeasuresDataAndPermissionRPOAgainstTheTruth(t *testing.T) {
	startWorker(t)
	lab := startRealLab(t)

	r, rec := lab.drill(t, "real-site-loss.yaml")
	require.Contains(t, []int{0, 3}, r.code, "stderr: %s\nreason: %s", r.stderr, rec.Reason)
	truth := lab.truth(t)
	outage := rec.Measures.RTO.From.At
	rpo, perm := achieved(t, rec.Measures.RPO), achieved(t, rec.Measures.PermissionRPO)

	// Data: the newest write the standby holds is the last transaction it
	// replayed before the cut; the canaries see it to within an interval.
	trueRPO := outage.Sub(truthInstant(t, truth, "pgLastReplayedCommitAt")).Seconds()
	// Permissions: the provider's newest change (the grant after the cut)
	// minus the consumer's at the cut (the onboarding before it).
	truePerm := truth["permissionRpoSeconds"].(float64)
	t.Logf("site loss: RTO %.3fs; data RPO %.3fs (truth %.3fs; lab's own loss instant %.3fs); permission RPO %.6fs (truth %.6fs)",
		achieved(t, rec.Measures.RTO), rpo, trueRPO, truth["dataRpoSeconds"], perm, truePerm)
	assert.InDelta(t, trueRPO, rpo, 0.2, "the data RPO is within one canary interval of the truth")
	assert.Greater(t, rpo, 1.0, "a second and more of canary rows was lost")
	assert.InDelta(t, truePerm, perm, 0.1, "the permission RPO is within one probe interval of the truth")
	assert.Greater(t, perm, 0.0)

	drift := stepOf(t, rec, "directory-drift")
	assert.Equal(t, evidence.StepSucceeded, drift.Status, drift.Error)
	assert.Equal(t, []any{"cn=finance,ou=groups,dc=example,dc=com: uid=carol,ou=people,dc=example,dc=com"}, drift.Output["missing"])
	assert.Empty(t, drift.Output["stillGranted"])
	files := stepOf(t, rec, "attachments")
	assert.Equal(t, evidence.StepSucceeded, files.Status, files.Error)
	assert.Equal(t, float64(2), files.Output["referenced"])
}

func TestRealLab_LostRevocationFailsNamingTheUser(t *testing.T) {
	startWorker(t)
	lab := startRealLab(t)

	r, rec := lab.drill(t, "real-lost-revocation.yaml")
	require.Equal(t, 4, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, evidence.StatusFailed, rec.Status)
	perms := stepOf(t, rec, "permissions")
	assert.Equal(t, evidence.StepFailed, perms.Status)
	assert.Contains(t, perms.Error, "revoked on the primary but still granted on the standby: mallory (uid=mallory,ou=people,dc=example,dc=com) in ")
	assert.Equal(t, []any{"mallory"}, perms.Output["stillGrantedSubjects"])
	assert.Contains(t, rec.Reason, "mallory")

	lab.run(t, "snapshot")
	truth := lab.truth(t)
	outage := rec.Measures.RTO.From.At
	rpo, perm := achieved(t, rec.Measures.RPO), achieved(t, rec.Measures.PermissionRPO)
	trueRPO := outage.Sub(truthInstant(t, truth, "pgLastReplayedCommitAt")).Seconds()
	truePerm := truth["permissionRpoSeconds"].(float64)
	t.Logf("lost revocation: data RPO %.3fs (truth %.3fs), permission RPO %.6fs (truth %.6fs)", rpo, trueRPO, perm, truePerm)
	assert.InDelta(t, trueRPO, rpo, 0.2, "the data RPO is within one canary interval of the truth")
	assert.InDelta(t, truePerm, perm, 0.1, "the permission RPO is within one probe interval of the truth")
	assert.Greater(t, perm, 0.0, "the revocation is the change the standby lacks")
}
