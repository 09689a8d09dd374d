package evidence

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// maxListedIDs is how many lost record ids a report names; the count is
// always given.
const maxListedIDs = 20

// integrityView is the data-integrity result of one replication-check step:
// what was compared, the differences per group, what was lost, and the
// verdict against the step's tolerance.
type integrityView struct {
	Step, Compare, Status string
	// Summary is one sentence per figure: counts on each side, differences.
	Summary []string
	// GroupHead names the group column (permission group, table).
	GroupHead string
	Groups    []groupRow
	// Differences names the first differences (permissions) in words.
	Differences []string
	Lost        string   // "Records lost: 10"
	LostIDs     []string // the first maxListedIDs ids
	LostMore    string   // "and 30 more (not named in the record)"
	Tolerance   string
	Verdict     string // localised
	VerdictCls  string // met | missed | not-measured
	Error       string
}

// groupRow counts the differences of one group.
type groupRow struct {
	Name, Primary, Standby, Missing, Extra, Changed string
}

// integrity builds the data-integrity section from the replication-check
// steps' outputs (see activities/replication.go and activities/sql.go for
// their keys).
func (r *renderer) integrity() []integrityView {
	var out []integrityView
	for _, s := range r.rec.Steps {
		if s.Type != "replication-check" {
			continue
		}
		out = append(out, r.integrityOf(s))
	}
	return out
}

func (r *renderer) integrityOf(s StepRecord) integrityView {
	l := r.l
	spec := r.facts.step(s.ID)
	compare := ""
	if spec != nil {
		compare = spec.Compare
	}
	if compare == "" {
		switch {
		case s.Output["drift"] != nil || s.Output["primaryGrants"] != nil:
			compare = "permissions"
		case s.Output["primaryCount"] != nil:
			compare = "messages"
		default:
			compare = "records"
		}
	}
	v := integrityView{Step: s.ID, Status: s.Status, Error: s.Error}
	switch compare {
	case "permissions", "messages", "records":
		v.Compare = l.T("compare." + compare)
	default:
		v.Compare = compare
	}
	if s.Status != StepSucceeded && s.Status != StepFailed || len(s.Output) == 0 {
		v.Verdict, v.VerdictCls = l.T("integrity.notChecked", l.T("status."+stepStatus(s.Status))), "not-measured"
		v.Summary = append(v.Summary, l.T("integrity.noFigures"))
		return v
	}
	var count int  // the figure judged against the tolerance
	var limit *int // the tolerance on it, when declared
	var maxLoss time.Duration
	if spec != nil && spec.Tolerance != nil {
		if compare == "permissions" {
			limit = spec.Tolerance.MaxDrift
		} else {
			limit = spec.Tolerance.MaxMissing
		}
		if d, err := time.ParseDuration(spec.Tolerance.MaxLoss); err == nil {
			maxLoss = d
		}
	}
	lt := func(n int) string { return l.LTR(l.Int(n)) }
	switch compare {
	case "permissions":
		count = num(s.Output["drift"])
		v.Summary = append(v.Summary, l.T("integrity.grants", lt(num(s.Output["primaryGrants"])), lt(num(s.Output["standbyGrants"]))),
			l.T("integrity.drift", lt(count)))
		v.GroupHead = l.T("integrity.group")
		if groups, ok := s.Output["groups"].(map[string]any); ok {
			for _, name := range sortedKeys(groups) {
				g := groups[name]
				v.Groups = append(v.Groups, groupRow{Name: name, Missing: lt(field(g, "missing")), Extra: lt(field(g, "extra")), Changed: lt(field(g, "changed"))})
			}
		}
		for _, key := range []string{"missing", "extra", "changed"} {
			for _, d := range strs(s.Output[key]) {
				v.Differences = append(v.Differences, l.T("integrity.diff."+key, l.Iso(d)))
			}
		}
		if len(v.Differences) > maxListedIDs {
			v.Differences = append(v.Differences[:maxListedIDs], l.T("integrity.more", lt(len(v.Differences)-maxListedIDs)))
		}
		if limit == nil {
			limit = new(int) // permissions: no drift allowed unless declared
		}
	case "messages":
		count = num(s.Output["missingOnStandby"])
		v.Summary = append(v.Summary, l.T("integrity.messages", lt(num(s.Output["primaryCount"])), lt(num(s.Output["standbyCount"]))))
		if at := str(s.Output["standbyNewestAt"]); at != "" {
			v.Summary = append(v.Summary, l.T("integrity.newestStandby", l.LTR(r.instant(at))))
		}
		if w, ok := s.Output["lossWindowSeconds"]; ok {
			v.Summary = append(v.Summary, l.T("integrity.lossWindow", l.Iso(l.Duration(seconds(w)))))
		}
		r.lost(&v, count, strs(s.Output["missingIds"]))
	default: // records: one group per table
		v.GroupHead = l.T("integrity.table")
		for _, name := range sortedKeys(s.Output) {
			t, ok := s.Output[name].(map[string]any)
			if !ok {
				continue
			}
			v.Groups = append(v.Groups, groupRow{Name: name, Primary: lt(num(t["primaryRows"])), Standby: lt(num(t["standbyRows"])),
				Missing: lt(num(t["missingOnStandby"]))})
		}
		count = num(s.Output["missingOnStandby"])
		r.lost(&v, count, strs(s.Output["missingIds"]))
	}
	switch {
	case limit != nil && maxLoss > 0:
		v.Tolerance = l.T("integrity.toleranceLoss", lt(*limit), l.Iso(l.Duration(maxLoss)))
	case limit != nil:
		v.Tolerance = l.T("integrity.tolerance", lt(*limit))
	default:
		v.Tolerance = l.T("integrity.noTolerance")
	}
	beyond := limit != nil && count > *limit
	if w, ok := s.Output["lossWindowSeconds"]; ok && maxLoss > 0 && seconds(w) > maxLoss {
		beyond = true
	}
	switch {
	case beyond:
		v.Verdict, v.VerdictCls = l.T("integrity.beyond"), "missed"
	case s.Status == StepFailed:
		v.Verdict, v.VerdictCls = l.T("integrity.failed"), "missed"
	case limit == nil:
		v.Verdict, v.VerdictCls = l.T("integrity.notJudged"), "not-measured"
	default:
		v.Verdict, v.VerdictCls = l.T("integrity.within"), "met"
	}
	return v
}

// lost fills the records-lost figures: the count, and the first ids.
func (r *renderer) lost(v *integrityView, count int, ids []string) {
	l := r.l
	v.Lost = l.T("integrity.lost", l.LTR(l.Int(count)))
	if len(ids) > maxListedIDs {
		ids = ids[:maxListedIDs]
	}
	v.LostIDs = ids
	if count > len(ids) && count > 0 {
		if len(ids) == 0 {
			v.LostMore = l.T("integrity.idsNotReported")
		} else {
			v.LostMore = l.T("integrity.idsFirst", l.LTR(l.Int(len(ids))), l.LTR(l.Int(count)))
		}
	}
}

// instant renders an RFC 3339 instant of an output in the report's zone.
func (r *renderer) instant(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return r.l.DateTime(t, r.loc)
}

// num reads a count from an output value: an int before the record's JSON
// round trip, a float64 after it.
func num(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case float32:
		return int(n)
	}
	return 0
}

// field reads a count from a map of counts (map[string]int before the JSON
// round trip, map[string]any after it).
func field(m any, key string) int {
	switch g := m.(type) {
	case map[string]int:
		return g[key]
	case map[string]any:
		return num(g[key])
	}
	return 0
}

func seconds(v any) time.Duration {
	switch n := v.(type) {
	case float64:
		return time.Duration(n * float64(time.Second))
	case int:
		return time.Duration(n) * time.Second
	}
	return 0
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// strs reads a list of strings from an output value ([]string before the
// JSON round trip, []any after it).
func strs(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// stepStatus is a known step status, for its catalog key.
func stepStatus(s string) string {
	switch s {
	case StepPending, StepRunning, StepWaiting, StepSucceeded, StepFailed, StepSkipped, StepCancelled, StepUnknown, "rehearsed":
		return s
	}
	return strings.ToLower(StepUnknown)
}
