package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// VerdictNoTarget is the verdict of a measure taken without a target.
const VerdictNoTarget = "no-target"

// measures computes every measure from the instants the activities took so
// far, beside its target.
func (d *drill) measures() evidence.Measures {
	t := d.in.Playbook.Targets
	m := evidence.Measures{RTO: newMeasure(t.RTO), RPO: newMeasure(t.RPO), Response: newMeasure(t.Response)}

	start := d.markedStep(playbooks.MarkOutageStart)
	stop := d.markedStep(playbooks.MarkServiceRestored)
	m.RTO.Method = "first successful check of the service_restored probe minus the instant the outage_start action executed, both taken on the worker"
	switch {
	case start == nil || stop == nil:
		m.RTO.Note = "the playbook marks no outage_start and service_restored steps"
	case start.MarkAt == nil:
		m.RTO.Note = "the outage_start step " + start.ID + " has not executed"
	case stop.MarkAt == nil:
		m.RTO.Note = "the service_restored step " + stop.ID + " has not succeeded"
	default:
		m.RTO.From = &evidence.Instant{Step: start.ID, At: *start.MarkAt}
		m.RTO.To = &evidence.Instant{Step: stop.ID, At: *stop.MarkAt}
		achieved := stop.MarkAt.Sub(*start.MarkAt)
		var resolution time.Duration
		if res := d.results[stop.ID]; res != nil {
			resolution = time.Duration(res.ResolutionSeconds * float64(time.Second))
		}
		judge(&m.RTO, achieved, resolution)
	}

	m.RPO.Method = "outage start minus the creation instant of the newest pre-outage write present on the standby after failover"
	if start == nil || start.MarkAt == nil {
		m.RPO.Note = "no outage start instant to measure data loss from"
	} else if id, res := d.rpoSource(); res == nil {
		m.RPO.Note = "no canary or message comparison reported the newest surviving write"
	} else {
		loss := max(start.MarkAt.Sub(*res.NewestSurvivingAt), 0)
		m.RPO.From = &evidence.Instant{Step: id, At: *res.NewestSurvivingAt}
		m.RPO.To = &evidence.Instant{Step: start.ID, At: *start.MarkAt}
		judge(&m.RPO, loss, time.Duration(res.ResolutionSeconds*float64(time.Second)))
	}
	m.PermissionRPO = newMeasure(t.PermissionRPO)
	d.permissionRPO(&m.PermissionRPO)

	m.Response.Method = "first page sent (on the worker) to the first acknowledgement (as the workflow received it)"
	m.Response.Note = "no page step has been acknowledged"
	for _, s := range d.in.Playbook.Steps {
		res := d.pages[s.ID]
		if s.Type != playbooks.StepPage || res == nil || res.AckedAt == nil || res.FirstPageAt == nil {
			continue
		}
		m.Response.Note = ""
		m.Response.From = &evidence.Instant{Step: s.ID, At: *res.FirstPageAt}
		m.Response.To = &evidence.Instant{Step: s.ID, At: *res.AckedAt}
		m.Response.AckedBy, m.Response.Level = res.AckedBy, res.Level
		judge(&m.Response, max(res.AckedAt.Sub(*res.FirstPageAt), 0), 0)
		return m
	}
	// Nobody acknowledged: once the target has elapsed since the first page,
	// the response is missed, and took at least that long.
	for _, s := range d.in.Playbook.Steps {
		res := d.pages[s.ID]
		if s.Type != playbooks.StepPage || res == nil || res.FirstPageAt == nil || res.EndedAt == nil || m.Response.TargetSeconds == nil {
			continue
		}
		elapsed := max(res.EndedAt.Sub(*res.FirstPageAt), 0)
		if elapsed.Seconds() < *m.Response.TargetSeconds {
			m.Response.Note = fmt.Sprintf("no acknowledgement in the %s the page ran, less than the target", elapsed.Round(time.Millisecond))
			continue
		}
		m.Response.From = &evidence.Instant{Step: s.ID, At: *res.FirstPageAt}
		judge(&m.Response, elapsed, 0)
		m.Response.Note = fmt.Sprintf("nobody acknowledged: the target elapsed with no acknowledgement; the response took at least %s (a lower bound)", elapsed.Round(time.Millisecond))
		return m
	}
	return m
}

// permissionRPO measures how far the standby's directory was behind the
// primary's, from the first permissions comparison over ldap (in playbook
// order) that read both servers' contextCSN, failed or not.
func (d *drill) permissionRPO(m *evidence.Measure) {
	m.Method = "the primary directory's newest change minus the standby's newest change of the same server (contextCSN), as a permissions comparison over ldap read them"
	for _, s := range d.in.Playbook.Steps {
		res := d.results[s.ID]
		if s.Type != playbooks.StepReplicationCheck || res == nil || res.PermissionNewestAt == nil || res.PermissionNewestSurvivingAt == nil {
			continue
		}
		m.From = &evidence.Instant{Step: s.ID, At: *res.PermissionNewestSurvivingAt}
		m.To = &evidence.Instant{Step: s.ID, At: *res.PermissionNewestAt}
		judge(m, max(res.PermissionNewestAt.Sub(*res.PermissionNewestSurvivingAt), 0), 0)
		return
	}
	m.Note = "no permissions comparison over ldap read both directories' contextCSN"
}

// markedStep returns the record of the step carrying mark, if any.
func (d *drill) markedStep(mark playbooks.Mark) *evidence.StepRecord {
	for i := range d.rec.Steps {
		if playbooks.Mark(d.rec.Steps[i].Marks) == mark {
			return &d.rec.Steps[i]
		}
	}
	return nil
}

// rpoSource returns the step whose result gives the newest surviving write:
// a canary if one reported, else a message comparison; in playbook order.
func (d *drill) rpoSource() (string, *steps.Result) {
	for _, want := range []playbooks.StepType{playbooks.StepCanary, playbooks.StepReplicationCheck} {
		for _, s := range d.in.Playbook.Steps {
			if s.Type != want {
				continue
			}
			if res := d.results[s.ID]; res != nil && res.NewestSurvivingAt != nil {
				return s.ID, res
			}
		}
	}
	return "", nil
}

// newMeasure starts a measure with its target and no achievement.
func newMeasure(target *playbooks.Duration) evidence.Measure {
	m := evidence.Measure{Verdict: evidence.VerdictNotMeasured}
	if target != nil {
		m.TargetSeconds = seconds(target.D())
	}
	return m
}

// judge records an achieved figure and its verdict against the target.
func judge(m *evidence.Measure, achieved, resolution time.Duration) {
	m.AchievedSeconds = seconds(achieved)
	if resolution > 0 {
		m.ResolutionSeconds = seconds(resolution)
	}
	if m.TargetSeconds == nil {
		m.Verdict = VerdictNoTarget
		return
	}
	margin := *m.TargetSeconds - *m.AchievedSeconds
	m.MarginSeconds = &margin
	if margin >= 0 {
		m.Verdict = evidence.VerdictMet
	} else {
		m.Verdict = evidence.VerdictMissed
	}
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// missedText names the measures that missed their targets.
func missedText(m evidence.Measures) string {
	var parts []string
	for _, x := range []struct {
		name string
		m    evidence.Measure
	}{{"RTO", m.RTO}, {"RPO", m.RPO}, {"response", m.Response}, {"permission RPO", m.PermissionRPO}} {
		if x.m.Verdict == evidence.VerdictMissed && x.m.AchievedSeconds != nil && x.m.TargetSeconds != nil {
			parts = append(parts, fmt.Sprintf("%s %.1fs against %.0fs", x.name, *x.m.AchievedSeconds, *x.m.TargetSeconds))
		}
	}
	return strings.Join(parts, ", ")
}
