package evidence

import (
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// playbookFacts is what the reports take from the bundle's playbook.yaml:
// who owns it, what it drills and how, and each step's declared tolerance.
//
// It is decoded leniently here rather than through playbooks.Parse: a
// bundle's report must render for any playbook a drill ran, including one
// written for an older or newer release whose validation would refuse it
// today, and fields the record does not carry yet (metadata.scenario,
// metadata.testType, metadata.objectives) are read when present.
type playbookFacts struct {
	Metadata struct {
		Name        string   `yaml:"name"`
		Owner       string   `yaml:"owner"`
		Description string   `yaml:"description"`
		Scenario    string   `yaml:"scenario"`
		TestType    string   `yaml:"testType"`
		Objectives  []string `yaml:"objectives"`
		Sites       []string `yaml:"sites"`
		Tags        []string `yaml:"tags"`
	} `yaml:"metadata"`
	Contacts map[string]struct {
		Name  string `yaml:"name"`
		Email string `yaml:"email"`
	} `yaml:"contacts"`
	Steps []factStep `yaml:"steps"`
}

// factStep is the part of a playbook step the reports read.
type factStep struct {
	ID              string `yaml:"id"`
	Type            string `yaml:"type"`
	Description     string `yaml:"description"`
	ContinueOnError bool   `yaml:"continueOnError"`
	Compare         string `yaml:"compare"`
	OnTimeout       string `yaml:"onTimeout"`
	Tolerance       *struct {
		MaxDrift   *int   `yaml:"maxDrift"`
		MaxMissing *int   `yaml:"maxMissing"`
		MaxLoss    string `yaml:"maxLoss"`
	} `yaml:"tolerance"`
	SQL *struct {
		Tables []string `yaml:"tables"`
	} `yaml:"sql"`
}

// parsePlaybookFacts reads what it can of a playbook; nil or unreadable
// YAML gives empty facts (the report then says what it does not know).
func parsePlaybookFacts(raw []byte) *playbookFacts {
	f := &playbookFacts{}
	if len(raw) == 0 {
		return f
	}
	if err := yaml.Unmarshal(raw, f); err != nil {
		// A playbook whose steps do not decode may still name its owner.
		var meta playbookFacts
		var doc struct {
			Metadata yaml.Node `yaml:"metadata"`
		}
		if yaml.Unmarshal(raw, &doc) == nil && doc.Metadata.Decode(&meta.Metadata) == nil {
			return &meta
		}
		return &playbookFacts{}
	}
	return f
}

// step returns the playbook's declaration of a step, or nil.
func (f *playbookFacts) step(id string) *factStep {
	for i := range f.Steps {
		if f.Steps[i].ID == id {
			return &f.Steps[i]
		}
	}
	return nil
}

// person names a contact for people: "Alice Chan (alice)", or the id alone.
func (f *playbookFacts) person(id string) string {
	if id == "" {
		return ""
	}
	if c, ok := f.Contacts[id]; ok && c.Name != "" && c.Name != id {
		return c.Name + " (" + id + ")"
	}
	return id
}

// Test types a playbook may declare in metadata.testType.
var testTypes = []string{"tabletop", "switchover", "failover", "restore"}

// scopeView is the report's scope section.
type scopeView struct {
	Owner, Description, Scenario, TestType string
	Objectives, Sites, Locks, Tags         []string
	Systems                                []systemRow
	Tiers                                  string
}

// systemRow is one asset in scope.
type systemRow struct {
	Name, Kind, Tier, Site, Owner, Status, StatusClass, Latency, Reason string
}

func (r *renderer) scope() scopeView {
	f, l := r.facts, r.l
	s := scopeView{Owner: f.Metadata.Owner, Description: f.Metadata.Description, Scenario: f.Metadata.Scenario,
		Objectives: f.Metadata.Objectives, Locks: r.rec.Locks, Tags: f.Metadata.Tags}
	if tt := strings.ToLower(strings.TrimSpace(f.Metadata.TestType)); tt != "" {
		s.TestType = tt
		for _, known := range testTypes {
			if tt == known {
				s.TestType = l.T("testType." + tt)
			}
		}
	}
	sites := map[string]bool{}
	for _, site := range f.Metadata.Sites {
		sites[site] = true
	}
	if inv := r.rec.Inventory; inv != nil {
		tiers := map[int]int{}
		for _, a := range inv.Assets {
			if a.Site != "" {
				sites[a.Site] = true
			}
			tiers[a.Tier]++
			row := systemRow{Name: a.Name, Kind: a.Kind, Tier: l.Int(a.Tier), Site: a.Site, Owner: a.Owner,
				Status: l.T("asset." + assetStatus(a.Status)), StatusClass: a.Status, Reason: a.Reason}
			if a.LatencyMs > 0 {
				row.Latency = l.T("unit.latency", l.Decimal(a.LatencyMs, 1))
			}
			s.Systems = append(s.Systems, row)
		}
		var parts []string
		for _, t := range sortedInts(tiers) {
			parts = append(parts, l.T("scope.tierCount", l.Int(t), l.Int(tiers[t])))
		}
		s.Tiers = strings.Join(parts, l.T("list.sep"))
	}
	for site := range sites {
		s.Sites = append(s.Sites, site)
	}
	sort.Strings(s.Sites)
	return s
}

func assetStatus(s string) string {
	switch s {
	case "ready", "degraded", "unreachable":
		return s
	}
	return "unknown"
}

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
