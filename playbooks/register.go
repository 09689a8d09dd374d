package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// roleRE is a sign-off role: lowercase words joined by dashes.
var roleRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// What the register reads of a playbook: how often it must pass a drill
// (metadata.frequency), what its downtime costs
// (metadata.downtimeCostPerMinute), the availability it is held to
// (targets.availability) and who must sign its reviews off (review.signoff).

// Frequencies a playbook may declare in metadata.frequency.
const (
	FrequencyMonthly   = "monthly"
	FrequencyQuarterly = "quarterly"
	FrequencyYearly    = "yearly"
)

// ReviewPolicy is what the review after a drill of the playbook needs.
type ReviewPolicy struct {
	// Signoff lists the roles that must sign a review off (dr-coordinator,
	// senior-management, independent-reviewer…), each by a different person.
	Signoff []string `yaml:"signoff,omitempty" json:"signoff,omitempty"`
}

// FrequencyMonths is how many months a frequency allows between two passing
// drills; ok is false for a frequency this release does not know.
func FrequencyMonths(f string) (months int, ok bool) {
	switch f {
	case FrequencyMonthly:
		return 1, true
	case FrequencyQuarterly:
		return 3, true
	case FrequencyYearly:
		return 12, true
	}
	return 0, false
}

// ParseAvailability reads an availability percentage ("99.9%") as a
// fraction (0.999). It must be above 0% and below 100%: 100% allows no
// downtime at all, which no drill can be measured against.
func ParseAvailability(s string) (float64, error) {
	text := strings.TrimSpace(s)
	num, ok := strings.CutSuffix(text, "%")
	if !ok {
		return 0, fmt.Errorf("%q: expected a percentage like \"99.9%%\"", s)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f <= 0 || f >= 100 {
		return 0, fmt.Errorf("%q: expected a percentage above 0%% and below 100%%, like \"99.9%%\"", s)
	}
	return f / 100, nil
}

// RequiredSignoffs are the roles that must sign off a review of p.
func (p *Playbook) RequiredSignoffs() []string {
	if p.Review == nil {
		return nil
	}
	return p.Review.Signoff
}

// registerRules checks metadata.frequency, metadata.downtimeCostPerMinute,
// targets.availability and review.signoff.
func (v *validator) registerRules() {
	p := v.p
	if f := p.Metadata.Frequency; f != "" {
		if _, ok := FrequencyMonths(f); !ok {
			v.at("metadata.frequency", "expected %s, %s or %s, got %q", FrequencyMonthly, FrequencyQuarterly, FrequencyYearly, f)
		}
	}
	if c := p.Metadata.DowntimeCostPerMinute; c < 0 {
		v.at("metadata.downtimeCostPerMinute", "expected a cost of 0 or more, got %v", c)
	}
	if a := p.Targets.Availability; a != "" {
		if _, err := ParseAvailability(a); err != nil {
			v.at("targets.availability", "%v", err)
		}
	}
	if p.Review == nil {
		return
	}
	seen := map[string]bool{}
	for i, role := range p.Review.Signoff {
		path := fmt.Sprintf("review.signoff[%d]", i)
		switch {
		case !roleRE.MatchString(role):
			v.at(path, "%q: expected a role in lowercase words joined by dashes, like dr-coordinator or senior-management", role)
		case seen[role]:
			v.at(path, "%q is listed twice", role)
		}
		seen[role] = true
	}
}
