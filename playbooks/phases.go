package playbooks

import "fmt"

// phases checks the compensation a playbook declares: compensate names a
// rollback step, only actions compensate, and in a saga (any compensate)
// every rollback step is some action's compensation.
func (v *validator) phases() {
	p := v.p
	rollback := map[string]bool{}
	for _, s := range p.Rollback {
		rollback[s.ID] = true
	}
	used := map[string]string{}
	for i, s := range p.Steps {
		if s.Compensate == "" {
			continue
		}
		path := fmt.Sprintf("steps[%d].compensate", i)
		switch {
		case !s.Type.IsAction():
			v.at(path, "only actions (http, exec, sql) are compensated; a %s step changes nothing to undo", s.Type)
		case !rollback[s.Compensate]:
			v.at(path, "%q is not a rollback step: compensate names the rollback step that undoes this action", s.Compensate)
		case used[s.Compensate] != "":
			v.at(path, "rollback step %q already compensates %q: give each action its own", s.Compensate, used[s.Compensate])
		default:
			used[s.Compensate] = s.ID
		}
	}
	if len(used) == 0 {
		return
	}
	for i, s := range p.Rollback {
		if used[s.ID] == "" {
			v.at(fmt.Sprintf("rollback[%d]", i), "rollback step %q compensates no action: in a playbook whose actions name their compensate step, every rollback step is one (or move it to finally)", s.ID)
		}
		if len(s.Needs) > 0 {
			v.at(fmt.Sprintf("rollback[%d].needs", i), "a compensation takes no needs: compensations run one at a time, in the reverse order of the actions they undo")
		}
	}
}
