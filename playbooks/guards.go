package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
)

// breachRE is a guard's breach condition: an operator and a number.
var breachRE = regexp.MustCompile(`^\s*(>=|<=|==|!=|>|<)\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$`)

// ParseBreach parses a breachIf condition like "> 0.05".
func ParseBreach(cond string) (op string, value float64, err error) {
	m := breachRE.FindStringSubmatch(cond)
	if m == nil {
		return "", 0, fmt.Errorf("%q: expected an operator (>, >=, <, <=, ==, !=) and a number, like \"> 0.05\"", cond)
	}
	v, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", cond, err)
	}
	return m[1], v, nil
}

// Breaches reports whether value matches the condition op threshold.
func Breaches(op string, threshold, value float64) bool {
	switch op {
	case ">":
		return value > threshold
	case ">=":
		return value >= threshold
	case "<":
		return value < threshold
	case "<=":
		return value <= threshold
	case "==":
		return value == threshold
	case "!=":
		return value != threshold
	}
	return false
}

// guards checks the playbook's stop conditions.
func (v *validator) guards() {
	seen := map[string]bool{}
	steps := map[string]bool{}
	for _, s := range v.p.Steps {
		steps[s.ID] = true
	}
	for i, g := range v.p.Guards {
		path := fmt.Sprintf("guards[%d]", i)
		switch {
		case g.ID == "":
			v.at(path, "missing field \"id\"")
		case !idRE.MatchString(g.ID):
			v.at(path+".id", "%q: expected letters, digits, dashes and underscores", g.ID)
		case seen[g.ID]:
			v.at(path+".id", "duplicate guard id %q", g.ID)
		}
		seen[g.ID] = true
		for _, f := range []struct{ name, id string }{{"from", g.From}, {"until", g.Until}} {
			if f.id != "" && !steps[f.id] {
				v.at(path+"."+f.name, "unknown step %q: a guard runs from and until steps of the drill", f.id)
			}
		}
		n := countSet(g.Check)
		if g.Prometheus != nil {
			n++
			if g.Prometheus.URL == "" || g.Prometheus.Query == "" {
				v.at(path+".prometheus", "a Prometheus guard needs url and query")
			}
			if _, _, err := ParseBreach(g.Prometheus.BreachIf); err != nil {
				v.at(path+".prometheus.breachIf", "%v", err)
			}
		}
		if n != 1 {
			v.at(path, "expected exactly one of http, tcp, exec, sql or prometheus, got %d", n)
		}
		if g.Interval < 0 {
			v.at(path+".interval", "expected a positive duration")
		}
		if g.Tolerate != nil && *g.Tolerate < 0 {
			v.at(path+".tolerate", "expected 0 or more consecutive failures, got %d", *g.Tolerate)
		}
	}
}

// metricQueries checks the playbook's context metrics.
func (v *validator) metricQueries() {
	seen := map[string]bool{}
	for _, g := range v.p.Guards {
		seen[g.ID] = true
	}
	for i, m := range v.p.Metrics {
		path := fmt.Sprintf("metrics[%d]", i)
		switch {
		case !idRE.MatchString(m.ID):
			v.at(path+".id", "%q: expected letters, digits, dashes and underscores", m.ID)
		case seen[m.ID]:
			v.at(path+".id", "duplicate id %q (guards and metrics share ids)", m.ID)
		}
		seen[m.ID] = true
		if m.Prometheus.URL == "" || m.Prometheus.Query == "" {
			v.at(path+".prometheus", "a metric needs a Prometheus url and query")
		}
		if m.Interval < 0 {
			v.at(path+".interval", "expected a positive duration")
		}
	}
}

// AsGuard is the metric as a guard that never breaches.
func (m MetricQuery) AsGuard() Guard {
	return Guard{ID: m.ID, Interval: m.Interval, Prometheus: &PrometheusCheck{URL: m.Prometheus.URL, Query: m.Prometheus.Query}}
}
