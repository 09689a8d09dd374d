package activities

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

func TestDiffGrants_NamesMissingExtraAndChangedPerGroup(t *testing.T) {
	primary := []Grant{
		{"finance", "alice", "admin"}, {"finance", "bob", "read"}, {"ops", "carol", "write"}, {"ops", "dave", "read"},
	}
	standby := []Grant{
		{"finance", "alice", "admin"}, {"finance", "bob", "write"}, {"ops", "carol", "write"}, {"hr", "erin", "read"},
	}
	d := DiffGrants(primary, standby)
	assert.Equal(t, []Grant{{"ops", "dave", "read"}}, d.Missing)
	assert.Equal(t, []Grant{{"hr", "erin", "read"}}, d.Extra)
	assert.Equal(t, []string{"finance/bob: read on primary, write on standby"}, d.ChangedText())
	assert.Equal(t, 3, d.Count())
	assert.Equal(t, map[string]any{
		"ops":     map[string]int{"missing": 1, "extra": 0, "changed": 0},
		"hr":      map[string]int{"missing": 0, "extra": 1, "changed": 0},
		"finance": map[string]int{"missing": 0, "extra": 0, "changed": 1},
	}, d.Groups())
	assert.Equal(t, 0, DiffGrants(primary, primary).Count())
}

// contractSite serves the replication contract from fixed data.
func contractSite(t *testing.T, grants []Grant, canary *canaryDoc) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	var canaries []canaryDoc
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/replication/permissions":
			json.NewEncoder(w).Encode(permissionsDoc{Site: "x", Grants: grants})
		case "/replication/canary":
			var c canaryDoc
			require.NoError(t, json.NewDecoder(r.Body).Decode(&c))
			canaries = append(canaries, c)
		case "/replication/canary/newest":
			if canary == nil {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(canary)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckReplication_PermissionDriftFailsTheStepAndIsNamed(t *testing.T) {
	p := contractSite(t, []Grant{{"finance", "alice", "admin"}, {"finance", "bob", "read"}}, nil)
	s := contractSite(t, []Grant{{"finance", "alice", "admin"}}, nil)
	step := playbooks.Step{ID: "permissions", Type: playbooks.StepReplicationCheck, ReplicationCheck: &playbooks.ReplicationCheckStep{
		Compare: playbooks.ComparePermissions, HTTP: &playbooks.SitePair{Primary: p.URL, Standby: s.URL}}}
	_, err := run(t, newActivities(nil), "CheckReplication", steps.Input{Step: step})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "group finance: bob has read on the primary but not on the standby")

	step.ReplicationCheck.Tolerance = &playbooks.Tolerance{MaxDrift: 1}
	res, err := run(t, newActivities(nil), "CheckReplication", steps.Input{Step: step})
	require.NoError(t, err)
	assert.EqualValues(t, 1, res.Output["drift"])
}

func TestVerifyCanaries_NewestStandbyMarkerIsTheNewestSurvivingWrite(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 500, time.UTC)
	s := contractSite(t, nil, &canaryDoc{ID: "drill-1-000042", At: at})
	step := playbooks.Step{ID: "canary", Type: playbooks.StepCanary, Canary: &playbooks.CanaryStep{
		Interval: playbooks.Duration(250 * time.Millisecond), HTTP: &playbooks.SitePair{Primary: "http://unused", Standby: s.URL}}}
	res, err := run(t, newActivities(nil), "VerifyCanaries", steps.Input{Step: step})
	require.NoError(t, err)
	require.NotNil(t, res.NewestSurvivingAt)
	assert.Equal(t, at, *res.NewestSurvivingAt)
	assert.Equal(t, 0.25, res.ResolutionSeconds)

	none := contractSite(t, nil, nil)
	step.Canary.HTTP.Standby = none.URL
	_, err = run(t, newActivities(nil), "VerifyCanaries", steps.Input{Step: step})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no canary marker survived")
}
