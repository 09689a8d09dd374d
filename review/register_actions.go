package review

import (
	"sort"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
)

// actions lists the corrective actions of every trusted review of a drill
// started before the period's end, marking a done action verified when a
// later passing drill of the same playbook exists.
func actions(all []*drillInfo, reviews map[string]*reviewInfo, p evidence.Period, asOf time.Time, loc *time.Location) []evidence.RegisterAction {
	out := []evidence.RegisterAction{}
	for _, d := range all {
		if d.b.Record == nil || !d.b.Record.StartedAt.Before(p.To) {
			continue
		}
		ri := reviews[d.b.Record.DrillID]
		if ri == nil || ri.integrity == evidence.IntegrityFailed {
			continue
		}
		r := ri.saved.Review
		for _, a := range r.Actions {
			ra := evidence.RegisterAction{ID: a.ID, Title: a.Title, DrillID: r.DrillID, Playbook: r.Drill.Playbook.Name,
				PlaybookDigest: d.row.PlaybookDigest, DrillManifestDigest: d.row.ManifestDigest, Finding: a.Finding,
				Owner: a.Owner, Due: a.Due, Ticket: a.Ticket, State: a.State}
			var verifiedAt time.Time
			switch {
			case a.State == ActionVerified:
				ra.VerifiedBy, ra.Recorded = a.VerifiedBy, true
				if a.VerifiedAt != nil {
					verifiedAt = *a.VerifiedAt
				}
			case a.State == ActionDone && a.DoneAt != nil:
				if later := laterPass(all, r.Drill.Playbook.Name, *a.DoneAt, asOf); later != nil {
					ra.State, ra.VerifiedBy, verifiedAt = ActionVerified, later.row.DrillID, later.b.Record.StartedAt
				}
			case a.State == ActionOpen:
				if due, err := time.ParseInLocation(time.DateOnly, a.Due, loc); err == nil && !asOf.Before(due.AddDate(0, 0, 1)) {
					ra.Overdue = true
				}
			}
			if ra.State == ActionVerified && !verifiedAt.IsZero() && verifiedAt.Before(p.From) {
				continue // settled before the period
			}
			out = append(out, ra)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Due != out[j].Due {
			return out[i].Due < out[j].Due
		}
		return out[i].DrillID+out[i].ID < out[j].DrillID+out[j].ID
	})
	return out
}

// laterPass is the first trusted passing drill of playbook started after
// since and before asOf.
func laterPass(all []*drillInfo, playbook string, since, asOf time.Time) *drillInfo {
	for _, d := range all { // oldest first
		if d.real && d.row.Exercised && d.b.PlaybookName == playbook && d.b.Record.StartedAt.After(since) && d.b.Record.StartedAt.Before(asOf) {
			return d
		}
	}
	return nil
}

func summarise(reg *evidence.Register, all []*drillInfo, p evidence.Period) evidence.RegisterSummary {
	s := evidence.RegisterSummary{Playbooks: len(reg.Playbooks), UntrustedBundles: len(reg.Untrusted)}
	for _, pb := range reg.Playbooks {
		switch pb.State {
		case evidence.StateVerified:
			s.Verified++
		case evidence.StateNeedsVerification:
			s.NeedsVerification++
		case evidence.StateOverdue:
			s.Overdue++
		case evidence.StateNeverDrilled:
			s.NeverDrilled++
		}
	}
	for _, d := range all {
		if d.b.Record != nil && inPeriod(d.b.Record.StartedAt, p) {
			s.Drills++
			if d.row.Exercised {
				s.Exercising++
			}
		}
	}
	for _, a := range reg.Actions {
		switch a.State {
		case ActionOpen:
			s.OpenActions++
			if a.Overdue {
				s.OverdueActions++
			}
		case ActionDone:
			s.DoneActions++
		case ActionVerified:
			s.VerifiedActions++
		}
	}
	for _, r := range reg.Reviews {
		switch r.State {
		case evidence.ReviewUnsigned, evidence.ReviewInvalid:
			s.UnsignedReviews++
		case evidence.ReviewMissing:
			s.MissingReviews++
		case evidence.ReviewOverdue:
			s.MissingReviews++
			s.OverdueReviews++
		}
	}
	return s
}

// budget sets the outages the playbook's drills caused against its
// availability target, in the year of asOf and in the period.
func budget(s Settings, real []*drillInfo, p evidence.Period, asOf time.Time, loc *time.Location) *evidence.AvailabilityBudget {
	if s.Availability == "" {
		return nil
	}
	frac, err := playbooks.ParseAvailability(s.Availability)
	if err != nil {
		return nil
	}
	year := asOf.Add(-time.Nanosecond).In(loc).Year()
	yearStart := time.Date(year, time.January, 1, 0, 0, 0, 0, loc)
	b := &evidence.AvailabilityBudget{Target: s.Availability, Year: year, BudgetSeconds: evidence.BudgetSeconds(frac), Drills: []string{}}
	for _, d := range real {
		if d.b.Integrity == evidence.IntegrityFailed || d.row.OutageSeconds == nil {
			continue
		}
		at := d.b.Record.StartedAt
		if !at.Before(yearStart) && at.Before(asOf) {
			b.YearSeconds += *d.row.OutageSeconds
			b.Drills = append(b.Drills, d.row.DrillID)
			b.Estimated = b.Estimated || d.row.OutageEstimated
		}
		if inPeriod(at, p) {
			b.PeriodSeconds += *d.row.OutageSeconds
		}
	}
	b.RemainingSeconds = b.BudgetSeconds - b.YearSeconds
	b.UsedPercent = 100 * b.YearSeconds / b.BudgetSeconds
	if s.CostPerMin > 0 {
		c, y, pc := s.CostPerMin, b.YearSeconds/60*s.CostPerMin, b.PeriodSeconds/60*s.CostPerMin
		b.CostPerMinute, b.YearCost, b.PeriodCost = &c, &y, &pc
	}
	return b
}
