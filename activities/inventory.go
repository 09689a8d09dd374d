package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Asset statuses in an inventory snapshot.
const (
	AssetReady       = "ready"
	AssetDegraded    = "degraded"    // it answered, but not as expected
	AssetUnreachable = "unreachable" // no answer
)

// DefaultInventoryConcurrency bounds the checks an inventory runs at once.
const DefaultInventoryConcurrency = 16

// assetCheckTimeout bounds one asset's check.
const assetCheckTimeout = 10 * time.Second

// RunInventory executes an inventory step: it discovers assets (when a
// source is declared), merges them by name with the declared ones, checks
// every asset in parallel with bounded concurrency and applies the
// readiness policy. A drill that is not ready fails here, before anything
// is touched, naming every asset that failed and why.
func (a *Activities) RunInventory(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.Inventory
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no inventory spec", "BadStep", nil)
	}
	res := &steps.Result{StartedAt: a.now()}
	sec := a.secrets()
	assets := append([]playbooks.Asset(nil), spec.Assets...)
	if spec.Discover != nil {
		found, err := a.discoverAssets(ctx, sec, *spec.Discover)
		if err != nil {
			return nil, sec.scrubErr(fmt.Errorf("discover assets: %w", err))
		}
		assets = mergeAssets(assets, found)
	}
	inv := &evidence.Inventory{Step: in.Step.ID, TakenAt: res.StartedAt}
	inv.Assets = a.checkAssets(ctx, sec, assets, spec.Concurrency, func(done int) { activity.RecordHeartbeat(ctx, done) })
	inv.Tiers = map[string]int{}
	for _, s := range inv.Assets {
		inv.Tiers[strconv.Itoa(s.Tier)]++
	}
	order, err := playbooks.RestoreOrder(assets)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadStep", nil)
	}
	inv.Order = order
	inv.Ready, inv.Reason = applyReadiness(spec.Readiness, inv.Assets)
	inv.Drift = a.inventoryDrift(in.Playbook, res.StartedAt, inv.Assets)
	res.EndedAt = a.now()
	res.Inventory = inv
	res.Output = map[string]any{"ready": inv.Ready, "assets": len(inv.Assets), "notReady": notReadyNames(inv.Assets)}
	if !inv.Ready {
		return nil, temporal.NewNonRetryableApplicationError("not ready: "+inv.Reason, "NotReady", nil, res)
	}
	return res, nil
}

// discoverAssets reads a JSON list of assets from an HTTP endpoint.
func (a *Activities) discoverAssets(ctx context.Context, sec *secrets, src playbooks.InventorySource) ([]playbooks.Asset, error) {
	if src.HTTP == nil {
		return nil, temporal.NewNonRetryableApplicationError("asset discovery over sql is not supported by this release yet", "Unsupported", nil)
	}
	var raw json.RawMessage
	if _, err := a.getJSON(ctx, sec, src.HTTP.URL, "", &raw); err != nil {
		return nil, err
	}
	// What a target answers is data: it may not carry a sealed secret
	// reference for this worker to resolve.
	var found []playbooks.Asset
	if err := json.Unmarshal([]byte(playbooks.Data(string(raw))), &found); err != nil {
		return nil, fmt.Errorf("GET %s: not a JSON list of assets: %w", playbooks.ShowRefs(src.HTTP.URL), err)
	}
	return found, nil
}

// mergeAssets merges discovered assets into declared ones by name: what the
// playbook declares wins, field by field.
func mergeAssets(declared, discovered []playbooks.Asset) []playbooks.Asset {
	byName := map[string]int{}
	out := append([]playbooks.Asset(nil), declared...)
	for i, d := range out {
		byName[d.Name] = i
	}
	for _, f := range discovered {
		i, ok := byName[f.Name]
		if !ok {
			byName[f.Name] = len(out)
			out = append(out, f)
			continue
		}
		d := &out[i]
		if d.Kind == "" {
			d.Kind = f.Kind
		}
		if d.Tier == 0 {
			d.Tier = f.Tier
		}
		if d.Owner == "" {
			d.Owner = f.Owner
		}
		if d.Site == "" {
			d.Site = f.Site
		}
		if len(d.DependsOn) == 0 {
			d.DependsOn = f.DependsOn
		}
		if d.Check == (playbooks.Check{}) {
			d.Check = f.Check
		}
	}
	return out
}

// checkAssets checks every asset, at most concurrency at once, and returns
// their statuses in the assets' order. progress, if not nil, is told how
// many checks have ended after each one.
func (a *Activities) checkAssets(ctx context.Context, sec *secrets, assets []playbooks.Asset, concurrency int,
	progress func(done int)) []evidence.AssetStatus {
	if concurrency <= 0 {
		concurrency = DefaultInventoryConcurrency
	}
	out := make([]evidence.AssetStatus, len(assets))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, asset := range assets {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, asset playbooks.Asset) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = a.checkAsset(ctx, sec, asset)
			mu.Lock()
			done++
			if progress != nil {
				progress(done)
			}
			mu.Unlock()
		}(i, asset)
	}
	wg.Wait()
	return out
}

func (a *Activities) checkAsset(ctx context.Context, sec *secrets, asset playbooks.Asset) evidence.AssetStatus {
	st := evidence.AssetStatus{Name: asset.Name, Kind: asset.Kind, Tier: asset.Tier, Site: asset.Site, Owner: asset.Owner}
	if asset.Check == (playbooks.Check{}) {
		st.Status, st.Reason = AssetReady, "declared without a check"
		return st
	}
	start := time.Now()
	_, err := a.check(ctx, sec, asset.Check, assetCheckTimeout)
	st.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	var unexpected *unexpectedError
	switch {
	case err == nil:
		st.Status = AssetReady
	case errors.As(err, &unexpected):
		st.Status, st.Reason = AssetDegraded, sec.scrub(err.Error())
	default:
		st.Status, st.Reason = AssetUnreachable, sec.scrub(err.Error())
	}
	return st
}

// applyReadiness decides whether the drill may proceed. With no rules the
// policy is "every tier-1 asset ready".
func applyReadiness(policy *playbooks.Readiness, assets []evidence.AssetStatus) (bool, string) {
	rules := []playbooks.ReadinessRule{{Tier: 1, MaxNotReady: "0"}}
	if policy != nil && len(policy.Rules) > 0 {
		rules = policy.Rules
	}
	var failures []string
	for _, rule := range rules {
		var total int
		var bad []string
		for _, s := range assets {
			if s.Tier != rule.Tier {
				continue
			}
			total++
			if s.Status != AssetReady {
				bad = append(bad, fmt.Sprintf("%s %s (%s)", s.Name, s.Status, s.Reason))
			}
		}
		allowed := allowedNotReady(rule.MaxNotReady, total)
		if len(bad) > allowed {
			failures = append(failures, fmt.Sprintf("tier %d: %d of %d not ready, %d allowed: %s",
				rule.Tier, len(bad), total, allowed, strings.Join(bad, "; ")))
		}
	}
	if len(failures) > 0 {
		return false, strings.Join(failures, " | ")
	}
	return true, ""
}

// allowedNotReady turns "2" or "10%" of total into a count (percentages
// round down: 10% of 5 assets allows none).
func allowedNotReady(max string, total int) int {
	max = strings.TrimSpace(max)
	if p, ok := strings.CutSuffix(max, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return 0
		}
		return int(f / 100 * float64(total))
	}
	n, err := strconv.Atoi(max)
	if err != nil {
		return 0
	}
	return n
}

func notReadyNames(assets []evidence.AssetStatus) []string {
	var out []string
	for _, s := range assets {
		if s.Status != AssetReady {
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out
}

// inventoryDrift compares a snapshot with the previous drill of the same
// playbook in the evidence store: assets added, removed and re-tiered. It
// is nil when there is no earlier snapshot to compare with.
func (a *Activities) inventoryDrift(playbook string, now time.Time, assets []evidence.AssetStatus) *evidence.Drift {
	if playbook == "" {
		return nil
	}
	store, err := a.evidenceStore()
	if err != nil {
		return nil
	}
	prev, err := store.Previous(playbook, now)
	if err != nil || prev == nil || prev.Inventory == nil {
		return nil
	}
	return DiffInventory(prev.DrillID, prev.Inventory.Assets, assets)
}

// DiffInventory lists what changed between two snapshots' assets.
func DiffInventory(previousDrill string, before, after []evidence.AssetStatus) *evidence.Drift {
	d := &evidence.Drift{PreviousDrill: previousDrill}
	old := map[string]int{}
	for _, a := range before {
		old[a.Name] = a.Tier
	}
	seen := map[string]bool{}
	for _, a := range after {
		seen[a.Name] = true
		tier, ok := old[a.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, a.Name)
		case tier != a.Tier:
			d.Retiered = append(d.Retiered, fmt.Sprintf("%s: tier %d → %d", a.Name, tier, a.Tier))
		}
	}
	for _, a := range before {
		if !seen[a.Name] {
			d.Removed = append(d.Removed, a.Name)
		}
	}
	sort.Strings(d.Added)
	sort.Strings(d.Removed)
	sort.Strings(d.Retiered)
	return d
}
