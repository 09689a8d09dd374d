package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// The replication contract (lab/CONTRACT.md) is a small JSON API that the
// lab implements and a real platform can implement behind an adapter.

// Grant is one permission grant: a subject holds a permission in a group.
type Grant struct {
	Group      string `json:"group"`
	Subject    string `json:"subject"`
	Permission string `json:"permission"`
}

type permissionsDoc struct {
	Site   string  `json:"site"`
	Grants []Grant `json:"grants"`
}

type newestDoc struct {
	Site     string     `json:"site"`
	Count    int        `json:"count"`
	NewestAt *time.Time `json:"newestAt"`
	NewestID string     `json:"newestId"`
}

type idsDoc struct {
	IDs []string `json:"ids"`
}

type canaryDoc struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// getJSON fetches base+path and decodes its JSON answer into v. It reports
// whether the resource was found (404 is not an error).
func (a *Activities) getJSON(ctx context.Context, sec *secrets, base, path string, v any) (bool, error) {
	b, err := sec.resolve(base)
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	u := strings.TrimRight(b, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, temporal.NewNonRetryableApplicationError(sec.scrub(err.Error()), "BadStep", nil)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", sec.scrub(u), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return false, fmt.Errorf("GET %s: %w", sec.scrub(u), err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if resp.StatusCode/100 != 2 {
		return false, fmt.Errorf("GET %s: status %d: %s", sec.scrub(u), resp.StatusCode, truncate(strings.TrimSpace(string(raw)), 200))
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("GET %s: not the replication contract's JSON: %w", sec.scrub(u), err)
	}
	return true, nil
}

// CheckReplication executes a replication-check step: it compares what the
// primary and the standby hold.
func (a *Activities) CheckReplication(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.ReplicationCheck
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no replication-check spec", "BadStep", nil)
	}
	res := &steps.Result{StartedAt: a.now()}
	sec := a.secrets()
	var err error
	switch {
	case spec.Compare == playbooks.ComparePermissions && spec.HTTP != nil:
		res.Output, err = a.comparePermissions(ctx, sec, func(site string) ([]Grant, error) {
			var doc permissionsDoc
			_, err := a.getJSON(ctx, sec, site, "/replication/permissions", &doc)
			return doc.Grants, err
		}, *spec.HTTP, spec.Tolerance)
	case spec.Compare == playbooks.ComparePermissions && spec.SQL != nil:
		res.Output, err = a.comparePermissions(ctx, sec, func(dsn string) ([]Grant, error) {
			return a.sqlGrants(ctx, sec, dsn)
		}, playbooks.SitePair{Primary: spec.SQL.Primary, Standby: spec.SQL.Standby}, spec.Tolerance)
	case spec.Compare == playbooks.CompareMessages && spec.HTTP != nil:
		err = a.compareMessages(ctx, sec, in, res)
	case (spec.Compare == playbooks.CompareRecords || spec.Compare == playbooks.CompareMessages) && spec.SQL != nil:
		err = a.compareSQLRecords(ctx, sec, in, res)
	case spec.Compare == playbooks.ComparePermissions && spec.LDAP != nil:
		err = a.compareDirectories(ctx, sec, in, res) // ldap.go
	case spec.Compare == playbooks.CompareFiles && spec.Files != nil:
		err = a.compareFiles(ctx, sec, in, res) // files.go
	default:
		err = temporal.NewNonRetryableApplicationError(fmt.Sprintf("compare %q needs %s", spec.Compare, "http or sql sites"), "BadStep", nil)
	}
	res.EndedAt = a.now()
	if err != nil {
		return nil, stepFailed(sec.scrubErr(err), res)
	}
	return res, nil
}

// stepFailed returns err as an application error carrying the step's
// result, so the record keeps what was found even when the step fails.
func stepFailed(err error, res *steps.Result) error {
	if _, ok := err.(*temporal.ApplicationError); ok {
		return err
	}
	return temporal.NewApplicationError(err.Error(), "StepFailed", res)
}

// comparePermissions diffs the grants of both sites: grants missing on the
// standby, extra there, and changed (same group and subject, another
// permission), per group.
func (a *Activities) comparePermissions(_ context.Context, _ *secrets, grantsOf func(site string) ([]Grant, error),
	sites playbooks.SitePair, tol *playbooks.Tolerance) (map[string]any, error) {
	primary, err := grantsOf(sites.Primary)
	if err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	standby, err := grantsOf(sites.Standby)
	if err != nil {
		return nil, fmt.Errorf("standby: %w", err)
	}
	diff := DiffGrants(primary, standby)
	out := map[string]any{
		"primaryGrants": len(primary),
		"standbyGrants": len(standby),
		"drift":         diff.Count(),
		"missing":       grantsText(diff.Missing),
		"extra":         grantsText(diff.Extra),
		"changed":       diff.ChangedText(),
		"groups":        diff.Groups(),
	}
	allowed := 0
	if tol != nil {
		allowed = tol.MaxDrift
	}
	if diff.Count() > allowed {
		return out, fmt.Errorf("permissions differ between the sites (%d differences, %d allowed): %s",
			diff.Count(), allowed, diff.Summary(5))
	}
	return out, nil
}

// GrantDiff is the difference between the grants of two sites.
type GrantDiff struct {
	Missing []Grant    // on the primary, not on the standby
	Extra   []Grant    // on the standby, not on the primary
	Changed [][2]Grant // same group and subject, other permission: {primary, standby}
}

// DiffGrants compares primary's grants with standby's.
func DiffGrants(primary, standby []Grant) GrantDiff {
	key := func(g Grant) string { return g.Group + "\x00" + g.Subject }
	p := map[string][]Grant{}
	s := map[string][]Grant{}
	for _, g := range primary {
		p[key(g)] = append(p[key(g)], g)
	}
	for _, g := range standby {
		s[key(g)] = append(s[key(g)], g)
	}
	var d GrantDiff
	for _, k := range sortedKeys(p) {
		pg, sg := perms(p[k]), perms(s[k])
		onlyP, onlyS := minus(pg, sg), minus(sg, pg)
		for len(onlyP) > 0 && len(onlyS) > 0 {
			d.Changed = append(d.Changed, [2]Grant{withPerm(p[k][0], onlyP[0]), withPerm(p[k][0], onlyS[0])})
			onlyP, onlyS = onlyP[1:], onlyS[1:]
		}
		for _, perm := range onlyP {
			d.Missing = append(d.Missing, withPerm(p[k][0], perm))
		}
		for _, perm := range onlyS {
			d.Extra = append(d.Extra, withPerm(p[k][0], perm))
		}
	}
	for _, k := range sortedKeys(s) {
		if _, ok := p[k]; !ok {
			d.Extra = append(d.Extra, s[k]...)
		}
	}
	return d
}

func perms(gs []Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Permission)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func withPerm(g Grant, perm string) Grant { g.Permission = perm; return g }

// Count is the number of differences.
func (d GrantDiff) Count() int { return len(d.Missing) + len(d.Extra) + len(d.Changed) }

// ChangedText renders each changed grant.
func (d GrantDiff) ChangedText() []string {
	out := make([]string, 0, len(d.Changed))
	for _, c := range d.Changed {
		out = append(out, fmt.Sprintf("%s/%s: %s on primary, %s on standby", c[0].Group, c[0].Subject, c[0].Permission, c[1].Permission))
	}
	return out
}

// Groups counts the differences per group.
func (d GrantDiff) Groups() map[string]any {
	groups := map[string]map[string]int{}
	add := func(group, kind string) {
		if groups[group] == nil {
			groups[group] = map[string]int{"missing": 0, "extra": 0, "changed": 0}
		}
		groups[group][kind]++
	}
	for _, g := range d.Missing {
		add(g.Group, "missing")
	}
	for _, g := range d.Extra {
		add(g.Group, "extra")
	}
	for _, c := range d.Changed {
		add(c[0].Group, "changed")
	}
	out := map[string]any{}
	for k, v := range groups {
		out[k] = v
	}
	return out
}

// Summary names the first n differences in words.
func (d GrantDiff) Summary(n int) string {
	var parts []string
	for _, g := range d.Missing {
		parts = append(parts, fmt.Sprintf("group %s: %s has %s on the primary but not on the standby", g.Group, g.Subject, g.Permission))
	}
	for _, g := range d.Extra {
		parts = append(parts, fmt.Sprintf("group %s: %s has %s on the standby only", g.Group, g.Subject, g.Permission))
	}
	parts = append(parts, d.ChangedText()...)
	if len(parts) > n {
		parts = append(parts[:n], fmt.Sprintf("and %d more", len(parts)-n))
	}
	return strings.Join(parts, "; ")
}

func grantsText(gs []Grant) []string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Group+"/"+g.Subject+":"+g.Permission)
	}
	return out
}

// compareMessages compares the messages written before the outage on both
// sites: counts, newest instants, and the ids missing on the standby. The
// newest pre-outage message on the standby is the newest surviving write.
func (a *Activities) compareMessages(ctx context.Context, sec *secrets, in steps.Input, res *steps.Result) error {
	sites := *in.Step.ReplicationCheck.HTTP
	before := ""
	if in.OutageStartAt != nil {
		before = "?before=" + url.QueryEscape(in.OutageStartAt.Format(time.RFC3339Nano))
	}
	var p, s newestDoc
	if _, err := a.getJSON(ctx, sec, sites.Primary, "/replication/messages/newest"+before, &p); err != nil {
		return fmt.Errorf("primary: %w", err)
	}
	if _, err := a.getJSON(ctx, sec, sites.Standby, "/replication/messages/newest"+before, &s); err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	out := map[string]any{"primaryCount": p.Count, "standbyCount": s.Count}
	res.Output = out
	if p.NewestAt != nil {
		out["primaryNewestAt"] = p.NewestAt.UTC().Format(time.RFC3339Nano)
	}
	if s.NewestAt != nil {
		out["standbyNewestAt"] = s.NewestAt.UTC().Format(time.RFC3339Nano)
		if in.OutageStartAt != nil {
			at := s.NewestAt.UTC()
			res.NewestSurvivingAt = &at
		}
	}
	var missing []string
	if s.NewestAt != nil || p.NewestAt != nil {
		since := time.Time{}
		if s.NewestAt != nil {
			since = *s.NewestAt
		}
		q := "/replication/messages?since=" + url.QueryEscape(since.Format(time.RFC3339Nano))
		if in.OutageStartAt != nil {
			q += "&before=" + url.QueryEscape(in.OutageStartAt.Format(time.RFC3339Nano))
		}
		var pids, sids idsDoc
		if _, err := a.getJSON(ctx, sec, sites.Primary, q, &pids); err != nil {
			return fmt.Errorf("primary: %w", err)
		}
		if _, err := a.getJSON(ctx, sec, sites.Standby, q, &sids); err != nil {
			return fmt.Errorf("standby: %w", err)
		}
		missing = minus(pids.IDs, sids.IDs)
	}
	out["missingOnStandby"] = len(missing)
	if len(missing) > 0 {
		out["missingIds"] = missing[:min(len(missing), 50)]
	}
	if p.NewestAt != nil && s.NewestAt != nil {
		out["lossWindowSeconds"] = max(p.NewestAt.Sub(*s.NewestAt), 0).Seconds()
	}
	tol := in.Step.ReplicationCheck.Tolerance
	if tol != nil && len(missing) > tol.MaxMissing {
		return fmt.Errorf("%d messages written before the outage are missing on the standby (%d allowed)", len(missing), tol.MaxMissing)
	}
	return nil
}

// WriteCanaries writes a canary marker to the primary every interval until
// the workflow cancels it (when the outage begins). Writes that fail (the
// primary fenced or down) are counted, not fatal. It returns normally on
// cancellation so the workflow gets the counts.
func (a *Activities) WriteCanaries(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.Canary
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no canary spec", "BadStep", nil)
	}
	interval := durationOrSecond(spec.Interval)
	if spec.SQL != nil {
		return a.writeSQLCanaries(ctx, in, spec.SQL, interval)
	}
	sec := a.secrets()
	base, err := sec.resolve(spec.HTTP.Primary)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	target := strings.TrimRight(base, "/") + "/replication/canary"
	return a.canaryLoop(ctx, sec, interval, func(seq int, at time.Time) error {
		body, _ := json.Marshal(canaryDoc{ID: fmt.Sprintf("%s-%06d", in.DrillID, seq), At: at})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.client().Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// canaryLoop calls write every interval until the workflow cancels the
// activity (when the outage begins). Failed writes (the primary fenced or
// down) are counted, not fatal. It returns normally on cancellation, with
// the counts. A worker that is stopping hands the loop over at once: the
// activity fails retryably and Temporal starts it on another worker.
func (a *Activities) canaryLoop(ctx context.Context, sec *secrets, interval time.Duration, write func(seq int, at time.Time) error) (*steps.Result, error) {
	res := &steps.Result{StartedAt: a.now(), ResolutionSeconds: interval.Seconds()}
	var written, failed int
	var last time.Time
	lastErr := ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		at := a.now()
		if err := write(seq, at); err != nil {
			failed++
			lastErr = sec.scrub(err.Error())
		} else {
			written++
			last = at
		}
		if ctx.Err() == nil {
			activity.RecordHeartbeat(ctx, written)
		}
		select {
		case <-ctx.Done():
			res.EndedAt = a.now()
			res.Output = map[string]any{"written": written, "failedWrites": failed, "lastError": lastErr}
			if !last.IsZero() {
				res.Output["lastWrittenAt"] = last.Format(time.RFC3339Nano)
			}
			return res, nil
		case <-workerStopping(ctx):
			return nil, temporal.NewApplicationError("the worker is stopping", ErrWorkerStopping)
		case <-tick.C:
		}
	}
}

// VerifyCanaries reads the newest canary marker on the standby after the
// failover: the newest surviving write made before the outage.
func (a *Activities) VerifyCanaries(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.Canary
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no canary spec", "BadStep", nil)
	}
	if spec.SQL != nil {
		return a.verifySQLCanaries(ctx, in, spec.SQL, durationOrSecond(spec.Interval))
	}
	res := &steps.Result{StartedAt: a.now(), ResolutionSeconds: durationOrSecond(spec.Interval).Seconds()}
	sec := a.secrets()
	path := "/replication/canary/newest"
	if in.OutageStartAt != nil {
		path += "?before=" + url.QueryEscape(in.OutageStartAt.Format(time.RFC3339Nano))
	}
	var newest canaryDoc
	found, err := a.getJSON(ctx, sec, spec.HTTP.Standby, path, &newest)
	res.EndedAt = a.now()
	if err != nil {
		return nil, fmt.Errorf("standby: %w", err)
	}
	if !found {
		return nil, temporal.NewNonRetryableApplicationError("no canary marker survived on the standby: every write made before the outage was lost", "NoCanary", nil)
	}
	at := newest.At.UTC()
	res.NewestSurvivingAt = &at
	res.Output = map[string]any{"newestCanaryId": newest.ID, "newestCanaryAt": at.Format(time.RFC3339Nano)}
	return res, nil
}

func durationOrSecond(d playbooks.Duration) time.Duration {
	if d > 0 {
		return d.D()
	}
	return time.Second
}
