package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

func csn(t *testing.T, raw string) CSN {
	t.Helper()
	c, ok := ParseCSN(raw)
	require.True(t, ok, raw)
	return c
}

func group(dn string, entryCSN CSN, members ...string) DirGroup {
	g := DirGroup{DN: dn, Members: map[string]string{}, EntryCSN: entryCSN}
	for _, m := range members {
		g.Members[normDN(m)] = m
	}
	return g
}

func directory(csns []CSN, groups ...DirGroup) Directory {
	d := Directory{Groups: map[string]DirGroup{}, CSN: map[string]CSN{}}
	for _, c := range csns {
		d.CSN[c.SID] = c
	}
	for _, g := range groups {
		d.Groups[normDN(g.DN)] = g
	}
	return d
}

const (
	finance = "cn=finance,ou=groups,dc=example,dc=com"
	admins  = "cn=chat-admins,ou=groups,dc=example,dc=com"
	bob     = "uid=bob,ou=people,dc=example,dc=com"
	mallory = "uid=mallory,ou=people,dc=example,dc=com"
	carol   = "uid=carol,ou=people,dc=example,dc=com"
)

func TestParseCSN_ReadsInstantAndServerID(t *testing.T) {
	c := csn(t, "20261125000353.470011Z#000000#001#000000")
	assert.Equal(t, time.Date(2026, 11, 25, 0, 3, 53, 470011000, time.UTC), c.At)
	assert.Equal(t, "001", c.SID)
	for _, bad := range []string{"", "20261125000353.470011Z", "yesterday#0#001#0"} {
		_, ok := ParseCSN(bad)
		assert.False(t, ok, bad)
	}
	assert.True(t, csn(t, "20261125000353.470011Z#000001#001#000000").After(c), "same instant, later counter")
}

func TestDiffDirectories_NamesRevokedButStillGrantedApartFromOtherDrift(t *testing.T) {
	before := csn(t, "20261125000353.144435Z#000000#001#000000")
	revoked := csn(t, "20261125000400.000000Z#000000#001#000000")
	afterPromotion := csn(t, "20261125000500.000000Z#000000#002#000000")
	primary := directory([]CSN{revoked},
		group(finance, revoked, bob, carol), // mallory revoked, carol granted after the cut
		group(admins, before, "UID=Bob, OU=People, DC=example, DC=com"),
	)
	standby := directory([]CSN{before, afterPromotion},
		group(finance, afterPromotion, bob, mallory),                         // changed on the standby too: the primary's change still went unseen
		group(admins, afterPromotion, bob, carol),                            // carol granted on the standby after its promotion
		group("cn=old-project,ou=groups,dc=example,dc=com", before, mallory), // deleted on the primary
	)
	d := DiffDirectories(primary, standby)
	assert.Equal(t, []Membership{{finance, carol}}, d.Missing)
	assert.Equal(t, []Membership{{admins, carol}}, d.Extra)
	assert.Equal(t, []Membership{{finance, mallory}, {"cn=old-project,ou=groups,dc=example,dc=com", mallory}}, d.StillGranted)
	assert.Equal(t, []string{"mallory"}, Subjects(d.StillGranted))
	assert.Equal(t, 4, d.Count())
	assert.Equal(t, "mallory (uid=mallory,ou=people,dc=example,dc=com) in cn=finance,ou=groups,dc=example,dc=com and cn=old-project,ou=groups,dc=example,dc=com",
		d.StillGrantedText())
	assert.Equal(t, map[string]int{"missing": 1, "extra": 0, "stillGranted": 1}, d.Groups()[finance])
	assert.Zero(t, DiffDirectories(primary, primary).Count(), "a DN written differently is the same member")
}

func TestLagOf_ComparesEachServerIDApart(t *testing.T) {
	p1 := csn(t, "20261125000353.470011Z#000000#001#000000")
	s1 := csn(t, "20261125000346.000000Z#000000#001#000000")
	s2 := csn(t, "20261125000357.828981Z#000000#002#000000") // written on the standby after a promotion
	lag, ok := LagOf(map[string]CSN{"001": p1}, map[string]CSN{"001": s1, "002": s2})
	require.True(t, ok)
	assert.Equal(t, "001", lag.SID)
	assert.Equal(t, 7470011*time.Microsecond, lag.Lag(), "the standby's own newer change does not hide the lag")
	assert.Empty(t, lag.Note)

	lag, ok = LagOf(map[string]CSN{"001": p1}, map[string]CSN{"001": p1})
	require.True(t, ok)
	assert.Zero(t, lag.Lag())
	assert.Equal(t, p1.At, lag.NewestAt)

	lag, ok = LagOf(map[string]CSN{"001": p1}, map[string]CSN{"002": s1})
	require.True(t, ok)
	assert.NotEmpty(t, lag.Note, "no change of server 001 on the standby: a bound")

	_, ok = LagOf(nil, map[string]CSN{"001": p1})
	assert.False(t, ok)
}

func TestCheckReplication_LDAPNeedsTheBindPasswordOnTheWorker(t *testing.T) {
	a := New()
	a.LookupEnv = func(string) (string, bool) { return "", false }
	step, err := playbooks.RenderStep(playbooks.Step{ID: "permissions", Type: playbooks.StepReplicationCheck,
		ReplicationCheck: &playbooks.ReplicationCheckStep{Compare: playbooks.ComparePermissions, LDAP: &playbooks.LDAPPair{
			Primary: "ldap://127.0.0.1:1", Standby: "ldap://127.0.0.1:1", BaseDN: "dc=example,dc=com",
			BindDN: "cn=reader,dc=example,dc=com", BindPassword: "${env:NO_SUCH_LDAP_PASSWORD}"}}}, playbooks.TemplateData{})
	require.NoError(t, err)
	_, err = a.CheckReplication(context.Background(), steps.Input{Step: step})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "NO_SUCH_LDAP_PASSWORD is not set on the worker")
}

// TestCheckReplication_AgainstARealLab compares the directories of a lab
// started by scripts/real-lab.sh (REAL_LAB_DIR names it; skipped without).
func TestCheckReplication_AgainstARealLab(t *testing.T) {
	dir := os.Getenv("REAL_LAB_DIR")
	if dir == "" {
		t.Skip("REAL_LAB_DIR is not set: start scripts/real-lab.sh and name its folder to run this")
	}
	pw, err := os.ReadFile(filepath.Join(dir, "run", "ldap.pw"))
	require.NoError(t, err)
	base, err := os.ReadFile(filepath.Join(dir, "run", "baseport"))
	require.NoError(t, err)
	var port int
	_, err = fmt.Sscan(strings.TrimSpace(string(base)), &port)
	require.NoError(t, err)
	a := New()
	a.LookupEnv = func(string) (string, bool) { return string(pw), true }
	step, err := playbooks.RenderStep(playbooks.Step{ID: "permissions", Type: playbooks.StepReplicationCheck,
		ReplicationCheck: &playbooks.ReplicationCheckStep{Compare: playbooks.ComparePermissions, LDAP: &playbooks.LDAPPair{
			Primary: fmt.Sprintf("ldap://127.0.0.1:%d", port+4), Standby: fmt.Sprintf("ldap://127.0.0.1:%d", port+5), BaseDN: "dc=example,dc=com", GroupBase: "ou=groups,dc=example,dc=com",
			BindDN: "cn=drillctl,dc=example,dc=com", BindPassword: "${env:REAL_LAB_LDAP_PASSWORD}"}}}, playbooks.TemplateData{})
	require.NoError(t, err)
	res, err := a.CheckReplication(context.Background(), steps.Input{Step: step})
	t.Logf("result %+v, error %v", res, err)
	if err == nil {
		require.NotNil(t, res.PermissionNewestAt)
		assert.NotContains(t, strings.Join(res.Output["primaryContextCSN"].([]string), " "), string(pw))
	}
}
