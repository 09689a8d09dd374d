package playbooks

import (
	"fmt"
	"sort"
	"strings"
)

// Plan is the execution order of a playbook.
type Plan struct {
	// Waves are the steps in execution order: every step of a wave may run
	// in parallel once the previous waves are done. Ids keep playbook order.
	Waves [][]string `json:"waves"`
	// RTOStart and RTOStop are the steps whose instants start and stop the
	// RTO clock ("" when the playbook marks none).
	RTOStart string `json:"rtoStart,omitempty"`
	RTOStop  string `json:"rtoStop,omitempty"`
	// Rollback lists the rollback steps in the order they may run.
	Rollback [][]string `json:"rollback,omitempty"`
	// RestoreOrder lists the declared assets of the inventory steps in the
	// order they should come back: dependencies first, then by tier.
	RestoreOrder []string `json:"restoreOrder,omitempty"`
}

// PlanOf returns the execution plan of a valid playbook.
func PlanOf(p *Playbook) (*Plan, error) {
	plan := &Plan{Waves: waves(p.Steps), Rollback: waves(p.Rollback)}
	for _, s := range p.Steps {
		switch s.Marks {
		case MarkOutageStart:
			plan.RTOStart = s.ID
		case MarkServiceRestored:
			plan.RTOStop = s.ID
		}
		if s.Type == StepInventory && s.Inventory != nil {
			order, err := RestoreOrder(s.Inventory.Assets)
			if err != nil {
				return nil, fmt.Errorf("step %s: %w", s.ID, err)
			}
			plan.RestoreOrder = append(plan.RestoreOrder, order...)
		}
	}
	return plan, nil
}

// waves groups steps by the length of their longest chain of needs.
func waves(steps []Step) [][]string {
	byID := make(map[string]*Step, len(steps))
	for i := range steps {
		byID[steps[i].ID] = &steps[i]
	}
	depth := make(map[string]int, len(steps))
	var depthOf func(id string, seen map[string]bool) int
	depthOf = func(id string, seen map[string]bool) int {
		if d, ok := depth[id]; ok {
			return d
		}
		seen[id] = true
		d := 0
		for _, n := range byID[id].Needs {
			if byID[n] != nil && !seen[n] {
				d = max(d, depthOf(n, seen)+1)
			}
		}
		delete(seen, id)
		depth[id] = d
		return d
	}
	var out [][]string
	for _, s := range steps {
		d := depthOf(s.ID, map[string]bool{})
		for len(out) <= d {
			out = append(out, nil)
		}
		out[d] = append(out[d], s.ID)
	}
	return out
}

// assetCycleError names a cycle among assets' dependsOn.
type assetCycleError struct{ cycle []string }

func (e *assetCycleError) Error() string {
	return "asset dependency cycle: " + strings.Join(e.cycle, " -> ")
}

// RestoreOrder orders assets so that every asset comes after what it
// depends on; among those ready at the same time, lower tiers (more
// critical) come first, then names. Unknown dependencies are ignored; a
// dependency cycle is an error naming it.
func RestoreOrder(assets []Asset) ([]string, error) {
	byName := make(map[string]*Asset, len(assets))
	for i := range assets {
		byName[assets[i].Name] = &assets[i]
	}
	// Cycle check first, so the error names the cycle.
	state := map[string]int{}
	var stack []string
	var cycle []string
	var visit func(name string) bool
	visit = func(name string) bool {
		state[name] = 1
		stack = append(stack, name)
		for _, dep := range byName[name].DependsOn {
			if byName[dep] == nil {
				continue
			}
			if state[dep] == 1 {
				for i, s := range stack {
					if s == dep {
						cycle = append(append([]string(nil), stack[i:]...), dep)
					}
				}
				return false
			}
			if state[dep] == 0 && !visit(dep) {
				return false
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = 2
		return true
	}
	for _, a := range assets {
		if state[a.Name] == 0 && !visit(a.Name) {
			return nil, &assetCycleError{cycle: cycle}
		}
	}
	// Kahn's algorithm with a (tier, name) priority.
	indegree := map[string]int{}
	dependents := map[string][]string{}
	for _, a := range assets {
		indegree[a.Name] += 0
		for _, dep := range a.DependsOn {
			if byName[dep] != nil {
				indegree[a.Name]++
				dependents[dep] = append(dependents[dep], a.Name)
			}
		}
	}
	var ready []string
	for _, a := range assets {
		if indegree[a.Name] == 0 {
			ready = append(ready, a.Name)
		}
	}
	less := func(i, j int) bool {
		a, b := byName[ready[i]], byName[ready[j]]
		if a.Tier != b.Tier {
			return a.Tier < b.Tier
		}
		return a.Name < b.Name
	}
	out := make([]string, 0, len(assets))
	for len(ready) > 0 {
		sort.Slice(ready, less)
		next := ready[0]
		ready = ready[1:]
		out = append(out, next)
		for _, d := range dependents[next] {
			indegree[d]--
			if indegree[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	return out, nil
}
