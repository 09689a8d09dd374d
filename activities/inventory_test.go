package activities

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

func inventoryStep(spec playbooks.InventoryStep) steps.Input {
	return steps.Input{Step: playbooks.Step{ID: "inventory", Type: playbooks.StepInventory, Inventory: &spec}}
}

func statusOf(t *testing.T, inv *evidence.Inventory, name string) evidence.AssetStatus {
	t.Helper()
	for _, s := range inv.Assets {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no asset %q", name)
	return evidence.AssetStatus{}
}

func TestRunInventory_ChecksRealTargetsAndClassifiesThem(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sick" {
			http.Error(w, "db down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer web.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	spec := playbooks.InventoryStep{
		Assets: []playbooks.Asset{
			{Name: "chat-api", Tier: 1, Check: playbooks.Check{HTTP: &playbooks.HTTPCheck{URL: web.URL + "/health"}}},
			{Name: "postgres", Tier: 1, Check: playbooks.Check{TCP: &playbooks.TCPCheck{Address: ln.Addr().String()}}},
			{Name: "search", Tier: 2, Check: playbooks.Check{HTTP: &playbooks.HTTPCheck{URL: web.URL + "/sick"}}},
			{Name: "calendar-sync", Tier: 3, DependsOn: []string{"chat-api"}, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"false"}}}},
			{Name: "legacy-fax", Tier: 3, Check: playbooks.Check{TCP: &playbooks.TCPCheck{Address: closedPort(t)}}},
		},
	}
	res, err := run(t, newActivities(nil), "RunInventory", inventoryStep(spec))
	require.NoError(t, err, "default policy: only tier 1 must be ready")
	inv := res.Inventory
	require.NotNil(t, inv)
	assert.True(t, inv.Ready)
	assert.Equal(t, AssetReady, statusOf(t, inv, "chat-api").Status)
	assert.Equal(t, AssetReady, statusOf(t, inv, "postgres").Status)
	search := statusOf(t, inv, "search")
	assert.Equal(t, AssetDegraded, search.Status)
	assert.Contains(t, search.Reason, "status 503")
	assert.Equal(t, AssetDegraded, statusOf(t, inv, "calendar-sync").Status)
	fax := statusOf(t, inv, "legacy-fax")
	assert.Equal(t, AssetUnreachable, fax.Status)
	assert.Contains(t, fax.Reason, "connection refused")
	assert.Equal(t, map[string]int{"1": 2, "2": 1, "3": 2}, inv.Tiers)
	assert.ElementsMatch(t, []any{"calendar-sync", "legacy-fax", "search"}, res.Output["notReady"])
}

func TestRunInventory_FailedReadinessNamesEveryFailingAsset(t *testing.T) {
	spec := playbooks.InventoryStep{
		Assets: []playbooks.Asset{
			{Name: "chat-api", Tier: 1, Check: playbooks.Check{TCP: &playbooks.TCPCheck{Address: closedPort(t)}}},
			{Name: "a", Tier: 2, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"true"}}}},
			{Name: "b", Tier: 2, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"false"}}}},
		},
		Readiness: &playbooks.Readiness{Rules: []playbooks.ReadinessRule{{Tier: 1, MaxNotReady: "0"}, {Tier: 2, MaxNotReady: "50%"}}},
	}
	_, err := run(t, newActivities(nil), "RunInventory", inventoryStep(spec))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not ready: tier 1: 1 of 1 not ready, 0 allowed: chat-api unreachable")
	assert.NotContains(t, err.Error(), "tier 2", "one of two tier-2 assets down is within 50%")
}

func TestRunInventory_DiscoveredAssetsMergeWithDeclaredOnes(t *testing.T) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"name":"chat-api","tier":3,"owner":"platform"},{"name":"billing","tier":2,"exec":{"command":["true"]}}]`)
	}))
	defer src.Close()
	spec := playbooks.InventoryStep{
		Assets:   []playbooks.Asset{{Name: "chat-api", Tier: 1, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"true"}}}}},
		Discover: &playbooks.InventorySource{HTTP: &playbooks.HTTPCheck{URL: src.URL}},
	}
	res, err := run(t, newActivities(nil), "RunInventory", inventoryStep(spec))
	require.NoError(t, err)
	require.Len(t, res.Inventory.Assets, 2)
	chat := statusOf(t, res.Inventory, "chat-api")
	assert.Equal(t, 1, chat.Tier, "the playbook's tier wins")
	assert.Equal(t, "platform", chat.Owner, "discovery fills what the playbook left out")
	assert.Equal(t, AssetReady, statusOf(t, res.Inventory, "billing").Status)
}

func TestRunInventory_FiveHundredAssetsWithBoundedConcurrency(t *testing.T) {
	var inFlight, peak atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
	}))
	defer web.Close()
	spec := playbooks.InventoryStep{Concurrency: 8, Assets: manyAssets(500, web.URL)}
	res, err := run(t, newActivities(nil), "RunInventory", inventoryStep(spec))
	require.NoError(t, err)
	assert.Len(t, res.Inventory.Assets, 500)
	assert.LessOrEqual(t, peak.Load(), int32(8))
	assert.Greater(t, peak.Load(), int32(1), "checks do run in parallel")
}

func manyAssets(n int, url string) []playbooks.Asset {
	assets := make([]playbooks.Asset, n)
	for i := range assets {
		assets[i] = playbooks.Asset{Name: fmt.Sprintf("asset-%03d", i), Tier: 1 + i%3,
			Check: playbooks.Check{HTTP: &playbooks.HTTPCheck{URL: url}}}
	}
	return assets
}

func TestAllowedNotReady(t *testing.T) {
	for _, tc := range []struct {
		max   string
		total int
		want  int
	}{{"0", 10, 0}, {"2", 10, 2}, {"10%", 10, 1}, {"10%", 5, 0}, {"50%", 3, 1}, {"bad", 3, 0}} {
		assert.Equal(t, tc.want, allowedNotReady(tc.max, tc.total), "%s of %d", tc.max, tc.total)
	}
}

// BenchmarkInventory500 checks 500 loopback HTTP assets; it reports assets per second.
func BenchmarkInventory500(b *testing.B) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer web.Close()
	a := newActivities(nil)
	assets := manyAssets(500, web.URL)
	sec := a.secrets()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.checkAssets(b.Context(), sec, assets, DefaultInventoryConcurrency, nil)
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "assets/s")
}

func TestRunInventory_DriftAgainstThePreviousDrillOfThePlaybook(t *testing.T) {
	store := &evidence.Store{Dir: t.TempDir()}
	prev := evidence.Record{SchemaVersion: 1, DrillID: "drill-chat-prev", Playbook: evidence.PlaybookRef{Name: "chat"},
		StartedAt: time.Now().Add(-90 * 24 * time.Hour), Status: evidence.StatusCompleted,
		Inventory: &evidence.Inventory{Assets: []evidence.AssetStatus{{Name: "chat-api", Tier: 2}, {Name: "fax", Tier: 3}}}}
	_, err := store.Write(prev, nil, nil, evidence.RenderOptions{})
	require.NoError(t, err)

	a := newActivities(nil)
	a.Evidence = store
	in := inventoryStep(playbooks.InventoryStep{Assets: []playbooks.Asset{
		{Name: "chat-api", Tier: 1, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"true"}}}},
		{Name: "search", Tier: 2, Check: playbooks.Check{Exec: &playbooks.ExecStep{Command: []string{"true"}}}},
	}})
	in.Playbook = "chat"
	res, err := run(t, a, "RunInventory", in)
	require.NoError(t, err)
	require.NotNil(t, res.Inventory.Drift)
	assert.Equal(t, &evidence.Drift{PreviousDrill: "drill-chat-prev", Added: []string{"search"}, Removed: []string{"fax"},
		Retiered: []string{"chat-api: tier 2 → 1"}}, res.Inventory.Drift)
	assert.Equal(t, []string{"chat-api", "search"}, res.Inventory.Order)

	in.Playbook = "another"
	res, err = run(t, a, "RunInventory", in)
	require.NoError(t, err)
	assert.Nil(t, res.Inventory.Drift, "no earlier drill of this playbook")
}
