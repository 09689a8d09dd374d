package playbooks

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

var (
	nameRE      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	idRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	envNameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretRefRE = regexp.MustCompile(`\$\{([^}]*)\}?`)
	thresholdRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?%$|^[0-9]+$`)
)

// Validate checks what decoding cannot: references between steps, contacts
// and policies, the DAG, the marks an RTO target needs, templates, secret
// references, the rules of each step type, and what is known before the
// drill runs to fail or stall it at run time (sizes, addresses, template
// loops, unquoted shell splices). Its error is an ErrorList.
func Validate(p *Playbook) error {
	v := &validator{p: p}
	v.header()
	v.params()
	v.stepCount()
	v.contacts()
	v.identityRules()
	v.registerRules()
	v.contactValues()
	v.contactTexts()
	v.durations()
	all := v.checkIDs()
	v.graph(p.Steps, "steps", all, false)
	v.graph(p.Rollback, "rollback", all, true)
	v.graph(p.Finally, "finally", all, true)
	v.marks()
	v.phases()
	v.directoryRules()
	v.guards()
	v.metricQueries()
	for i := range p.Steps {
		v.step(&p.Steps[i], fmt.Sprintf("steps[%d]", i), false)
	}
	for i := range p.Rollback {
		v.step(&p.Rollback[i], fmt.Sprintf("rollback[%d]", i), true)
	}
	for i := range p.Finally {
		v.step(&p.Finally[i], fmt.Sprintf("finally[%d]", i), true)
	}
	return v.errs.err()
}

type validator struct {
	p    *Playbook
	errs ErrorList
	// ids numbers every step id; anc[i] holds the numbers of the steps
	// that step i transitively needs.
	ids map[string]int
	anc []bitset
}

// at reports an error at path, located at path or its nearest located parent.
func (v *validator) at(path, format string, args ...any) {
	pos := v.pos(path)
	v.errs = append(v.errs, &Error{File: v.p.Source.Path, Line: pos.Line, Col: pos.Col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) pos(path string) Pos {
	for p := path; p != ""; {
		if pos, ok := v.p.positions[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Pos{Line: 1, Col: 1}
}

func (v *validator) header() {
	p := v.p
	if p.APIVersion != APIVersion {
		v.at("apiVersion", "expected %q, got %q", APIVersion, p.APIVersion)
	}
	if p.Kind != KindPlaybook {
		v.at("kind", "expected %q, got %q", KindPlaybook, p.Kind)
	}
	switch {
	case p.Metadata.Name == "":
		v.at("metadata.name", "missing: every playbook needs a name (lowercase letters, digits and dashes)")
	case !nameRE.MatchString(p.Metadata.Name) || len(p.Metadata.Name) > 63:
		v.at("metadata.name", "%q: expected lowercase letters, digits and dashes (at most 63), like chat-platform-quarterly", p.Metadata.Name)
	}
	if len(p.Steps) == 0 {
		v.at("steps", "a playbook needs at least one step")
	}
}

func (v *validator) contacts() {
	p := v.p
	for _, name := range sortedNames(p.Contacts) {
		c := p.Contacts[name]
		for i, ch := range c.Channels {
			path := fmt.Sprintf("contacts.%s.channels[%d]", name, i)
			if n := countSet(ch); n != 1 {
				v.at(path, "expected exactly one of webhook, slack, dingtalk, pagerduty, email or console, got %d", n)
			}
			v.channel(ch, path)
		}
	}
	for _, name := range sortedNames(p.Escalation) {
		pol := p.Escalation[name]
		path := "escalation." + name
		if len(pol.Levels) == 0 {
			v.at(path, "an escalation policy needs at least one level")
		}
		if pol.Repeat < 0 {
			v.at(path+".repeat", "expected 0 or more, got %d", pol.Repeat)
		}
		for i, l := range pol.Levels {
			lp := fmt.Sprintf("%s.levels[%d]", path, i)
			if len(l.Contacts) == 0 {
				v.at(lp+".contacts", "a level needs at least one contact")
			}
			for j, c := range l.Contacts {
				v.contactRef(c, fmt.Sprintf("%s.contacts[%d]", lp, j))
			}
			if l.AckTimeout <= 0 {
				v.at(lp+".ackTimeout", "a level needs an ackTimeout above zero (like 10m)")
			}
		}
	}
	if n := p.Notifications; n != nil {
		for i, c := range n.To {
			v.contactRef(c, fmt.Sprintf("notifications.to[%d]", i))
		}
		for i, e := range n.Events {
			switch e {
			case "started", "step-failed", "target-missed", "finished":
			default:
				v.at(fmt.Sprintf("notifications.events[%d]", i), "unknown event %q: expected started, step-failed, target-missed or finished", e)
			}
		}
	}
}

func (v *validator) channel(ch Channel, path string) {
	switch {
	case ch.Webhook != nil && ch.Webhook.URL == "":
		v.at(path+".webhook.url", "missing: a webhook needs a url")
	case ch.Slack != nil && ch.Slack.URL == "":
		v.at(path+".slack.url", "missing: a slack channel needs its incoming webhook url")
	case ch.DingTalk != nil && ch.DingTalk.URL == "":
		v.at(path+".dingtalk.url", "missing: a dingtalk channel needs its robot webhook url")
	case ch.PagerDuty != nil && ch.PagerDuty.RoutingKey == "":
		v.at(path+".pagerduty.routingKey", "missing: PagerDuty needs a routing key (write it as ${env:NAME})")
	case ch.Email != nil && (ch.Email.To == "" || ch.Email.SMTP == ""):
		v.at(path+".email", "an email channel needs to and smtp (host:port)")
	}
}

func (v *validator) contactRef(name, path string) {
	if _, ok := v.p.Contacts[name]; !ok {
		msg := fmt.Sprintf("unknown contact %q", name)
		if s := didYouMean(name, sortedNames(v.p.Contacts)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += "; contacts are: " + strings.Join(sortedNames(v.p.Contacts), ", ")
		}
		v.at(path, "%s", msg)
	}
}

// checkIDs checks step ids are present, well-formed and unique across steps and
// rollback, and returns where each id lives ("steps" or "rollback").
func (v *validator) checkIDs() map[string]string {
	where := map[string]string{}
	check := func(steps []Step, list string) {
		for i, s := range steps {
			path := fmt.Sprintf("%s[%d].id", list, i)
			switch {
			case s.ID == "":
				v.at(fmt.Sprintf("%s[%d]", list, i), "missing field \"id\"")
			case !idRE.MatchString(s.ID):
				v.at(path, "%q: expected letters, digits, dashes and underscores", s.ID)
			case where[s.ID] != "":
				v.at(path, "duplicate step id %q", s.ID)
			default:
				where[s.ID] = list
			}
		}
	}
	check(v.p.Steps, "steps")
	check(v.p.Rollback, "rollback")
	check(v.p.Finally, "finally")
	return where
}

// graph checks needs and cycles, and computes ancestors.
func (v *validator) graph(steps []Step, list string, where map[string]string, rollback bool) {
	if v.ids == nil {
		v.ids = map[string]int{}
		for _, s := range v.p.Steps {
			v.index(s.ID)
		}
		for _, s := range v.p.Rollback {
			v.index(s.ID)
		}
		for _, s := range v.p.Finally {
			v.index(s.ID)
		}
	}
	byID := map[string]*Step{}
	for i := range steps {
		byID[steps[i].ID] = &steps[i]
	}
	names := make([]string, 0, len(steps))
	for _, s := range steps {
		names = append(names, s.ID)
	}
	for i, s := range steps {
		for j, n := range s.Needs {
			path := fmt.Sprintf("%s[%d].needs[%d]", list, i, j)
			switch {
			case n == s.ID:
				v.at(path, "step %q needs itself", n)
			case byID[n] == nil && where[n] != "":
				if rollback {
					of := "the drill"
					if where[n] != "steps" {
						of = where[n]
					}
					v.at(path, "%s step %q needs %q, a step of %s: %s steps may only need other %s steps", list, s.ID, n, of, list, list)
				} else {
					v.at(path, "step %q needs %q, a %s step: drill steps may only need drill steps", s.ID, n, where[n])
				}
			case byID[n] == nil:
				msg := fmt.Sprintf("unknown step %q", n)
				if sug := didYouMean(n, names); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				v.at(path, "%s", msg)
			}
		}
	}
	// Cycles: depth-first search, reporting each cycle once.
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		state[id] = visiting
		stack = append(stack, id)
		for _, n := range byID[id].Needs {
			if byID[n] == nil || n == id {
				continue
			}
			switch state[n] {
			case unvisited:
				visit(n)
			case visiting:
				start := 0
				for k, s := range stack {
					if s == n {
						start = k
					}
				}
				cycle := append(append([]string(nil), stack[start:]...), n)
				// Report in needs order reversed: a runs before b.
				for l, r := 0, len(cycle)-1; l < r; l, r = l+1, r-1 {
					cycle[l], cycle[r] = cycle[r], cycle[l]
				}
				key := strings.Join(sortedCopy(cycle[:len(cycle)-1]), ",")
				if !reported[key] {
					reported[key] = true
					idx := indexOf(steps, n)
					v.at(fmt.Sprintf("%s[%d].needs", list, idx), "cycle: %s", strings.Join(cycle, " -> "))
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = done
	}
	for _, s := range steps {
		if s.ID != "" && state[s.ID] == unvisited {
			visit(s.ID)
		}
	}
	// Ancestors as bitsets over every step id (cycles are cut where they close).
	var anc func(id string, seen map[string]bool) bitset
	anc = func(id string, seen map[string]bool) bitset {
		i := v.index(id)
		if v.anc[i] != nil {
			return v.anc[i]
		}
		out := newBitset(len(v.ids))
		seen[id] = true
		for _, n := range byID[id].Needs {
			if byID[n] == nil || seen[n] {
				continue
			}
			out.set(v.index(n))
			out.or(anc(n, seen))
		}
		delete(seen, id)
		v.anc[i] = out
		return out
	}
	for _, s := range steps {
		if s.ID != "" {
			anc(s.ID, map[string]bool{})
		}
	}
}

// index returns the number of a step id, numbering ids as they come.
func (v *validator) index(id string) int {
	if i, ok := v.ids[id]; ok {
		return i
	}
	v.ids[id] = len(v.ids)
	v.anc = append(v.anc, nil)
	return v.ids[id]
}

// isAncestor reports whether step needs anc, directly or through others.
func (v *validator) isAncestor(step, anc string) bool {
	i, ok := v.ids[step]
	j, ok2 := v.ids[anc]
	if !ok || !ok2 || i >= len(v.anc) || v.anc[i] == nil {
		return false
	}
	return v.anc[i].has(j)
}

// bitset is a set of small integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int) {
	if i/64 < len(b) {
		b[i/64] |= 1 << (i % 64)
	}
}

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) or(o bitset) {
	for i := range b {
		if i < len(o) {
			b[i] |= o[i]
		}
	}
}

func indexOf(steps []Step, id string) int {
	for i, s := range steps {
		if s.ID == id {
			return i
		}
	}
	return 0
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// marks checks the marks an RTO target needs: exactly one outage_start and
// one service_restored, the second after the first.
func (v *validator) marks() {
	var starts, stops []int
	for i, s := range v.p.Steps {
		switch s.Marks {
		case "":
		case MarkOutageStart:
			starts = append(starts, i)
		case MarkServiceRestored:
			stops = append(stops, i)
			if s.Type != StepProbe && s.Type != "" {
				v.at(fmt.Sprintf("steps[%d].marks", i), "service_restored goes on a probe step: only a probe sees when the service came back (%q is a %s step)", s.ID, s.Type)
			}
		default:
			v.at(fmt.Sprintf("steps[%d].marks", i), "unknown mark %q: expected outage_start or service_restored", s.Marks)
		}
	}
	for i, s := range v.p.Rollback {
		if s.Marks != "" {
			v.at(fmt.Sprintf("rollback[%d].marks", i), "rollback steps take no marks: the RTO is measured on the drill's steps")
		}
	}
	for _, extra := range starts[min(len(starts), 1):] {
		v.at(fmt.Sprintf("steps[%d].marks", extra), "a second outage_start (%q is the first): exactly one step marks the outage start", v.p.Steps[starts[0]].ID)
	}
	for _, extra := range stops[min(len(stops), 1):] {
		v.at(fmt.Sprintf("steps[%d].marks", extra), "a second service_restored (%q is the first): exactly one step marks the restore", v.p.Steps[stops[0]].ID)
	}
	if v.p.Targets.RTO != nil {
		if len(starts) == 0 {
			v.at("targets.rto", "an rto target needs a step with marks: outage_start (the failover action)")
		}
		if len(stops) == 0 {
			v.at("targets.rto", "an rto target needs a probe step with marks: service_restored")
		}
	}
	if len(starts) > 0 && len(stops) > 0 {
		start, stop := v.p.Steps[starts[0]], v.p.Steps[stops[0]]
		if !v.isAncestor(stop.ID, start.ID) {
			v.at(fmt.Sprintf("steps[%d].needs", stops[0]), "service_restored step %q must run after outage_start step %q: add %q to its needs (directly or through another step)", stop.ID, start.ID, start.ID)
		}
	}
}

// step checks one step's own rules, its templates and its secret references.
func (v *validator) step(s *Step, path string, rollback bool) {
	if !hasSpec(s) {
		return // decoding found no usable type and said so
	}
	if s.Retry != nil && s.Retry.MaxAttempts < 1 {
		v.at(path+".retry.maxAttempts", "expected 1 or more, got %d", s.Retry.MaxAttempts)
	}
	if s.Retry != nil && s.Retry.Backoff != 0 && s.Retry.Backoff < 1 {
		v.at(path+".retry.backoff", "expected 1 or more (a multiplier), got %v", s.Retry.Backoff)
	}
	v.stepValues(s, path)
	v.shellCommands(s, path)
	switch s.Type {
	case StepHTTP:
		if s.HTTP.URL == "" {
			v.at(path, "an http step needs a url")
		}
		v.method(s.HTTP.Method, path+".method")
	case StepExec:
		if len(s.Exec.Command) == 0 {
			v.at(path, "an exec step needs a command (a list: program and arguments)")
		}
	case StepProbe:
		if n := countSet(s.Probe.Check); n != 1 {
			v.at(path, "a probe needs exactly one check (http, tcp, exec or sql), got %d", n)
		}
		v.check(s.Probe.Check, path)
	case StepSQL:
		if s.SQL.DSN == "" || s.SQL.Query == "" {
			v.at(path, "a sql step needs dsn and query")
		}
	case StepCanary:
		v.canary(s, path)
	case StepReplicationCheck:
		rc := s.ReplicationCheck
		switch rc.Compare {
		case ComparePermissions, CompareMessages, CompareRecords, CompareFiles:
		case "":
			v.at(path, "a replication-check needs compare: permissions, messages, records or files")
		default:
			v.at(path+".compare", "unknown comparison %q: expected permissions, messages, records or files", rc.Compare)
		}
		if (rc.HTTP == nil) == (rc.SQL == nil) && rc.LDAP == nil && rc.Files == nil {
			v.at(path, "a replication-check needs exactly one of http (primary and standby URLs), sql (primary and standby DSNs), ldap (directory servers) or files (a file store)")
		}
		if rc.Compare == CompareRecords && rc.SQL == nil {
			v.at(path+".compare", "records are compared over sql")
		}
	case StepPage:
		if _, ok := v.p.Escalation[s.Page.Escalation]; !ok {
			msg := fmt.Sprintf("unknown escalation policy %q", s.Page.Escalation)
			if sug := didYouMean(s.Page.Escalation, sortedNames(v.p.Escalation)); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			v.at(path+".escalation", "%s", msg)
		}
	case StepApproval:
		if len(s.Approval.Approvers) == 0 {
			v.at(path, "an approval needs approvers")
		}
		for i, a := range s.Approval.Approvers {
			v.contactRef(a, fmt.Sprintf("%s.approvers[%d]", path, i))
		}
		switch s.Approval.OnTimeout {
		case "", "fail", "approve":
		default:
			v.at(path+".onTimeout", "expected fail or approve, got %q", s.Approval.OnTimeout)
		}
	case StepWait:
		if s.Wait.Duration <= 0 {
			v.at(path, "a wait step needs a duration above zero")
		}
	case StepNotify:
		if len(s.Notify.To) == 0 || s.Notify.Message == "" {
			v.at(path, "a notify step needs to (contacts) and message")
		}
		for i, c := range s.Notify.To {
			v.contactRef(c, fmt.Sprintf("%s.to[%d]", path, i))
		}
	case StepInventory:
		v.inventory(s.Inventory, path)
	}
	v.strings(s, path, rollback)
}

func (v *validator) method(m, path string) {
	switch strings.ToUpper(m) {
	case "", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
	default:
		v.at(path, "unknown HTTP method %q", m)
	}
}

func (v *validator) check(c Check, path string) {
	if c.HTTP != nil {
		if c.HTTP.URL == "" {
			v.at(path+".http.url", "missing: an http check needs a url")
		}
		v.method(c.HTTP.Method, path+".http.method")
	}
	if c.TCP != nil && c.TCP.Address == "" {
		v.at(path+".tcp.address", "missing: a tcp check needs host:port")
	}
	if c.Exec != nil && len(c.Exec.Command) == 0 {
		v.at(path+".exec.command", "missing: an exec check needs a command")
	}
	if c.SQL != nil && (c.SQL.DSN == "" || c.SQL.Query == "") {
		v.at(path+".sql", "a sql check needs dsn and query")
	}
}

func (v *validator) canary(s *Step, path string) {
	c := s.Canary
	if (c.HTTP == nil) == (c.SQL == nil) {
		v.at(path, "a canary needs exactly one of http (primary and standby URLs) or sql (primary and standby DSNs)")
	}
	if c.VerifyAfter == "" {
		v.at(path, "a canary needs verifyAfter: the step after which the standby is read (the service_restored probe)")
		return
	}
	var target *Step
	for i := range v.p.Steps {
		if v.p.Steps[i].ID == c.VerifyAfter {
			target = &v.p.Steps[i]
		}
	}
	switch {
	case target == nil:
		v.at(path+".verifyAfter", "unknown step %q", c.VerifyAfter)
	case v.isAncestor(s.ID, c.VerifyAfter) || c.VerifyAfter == s.ID:
		v.at(path+".verifyAfter", "%q runs before the canary starts: verifyAfter names a step after the failover", c.VerifyAfter)
	case v.isAncestor(c.VerifyAfter, s.ID):
		v.at(path+".verifyAfter", "%q needs the canary, which waits for it: the drill would never end", c.VerifyAfter)
	}
	for _, st := range v.p.Steps {
		if st.Marks == MarkOutageStart && v.isAncestor(st.ID, s.ID) {
			v.at(path, "the outage_start step %q needs the canary, which writes until the outage starts: the drill would never end", st.ID)
		}
	}
}

func (v *validator) inventory(inv *InventoryStep, path string) {
	names := map[string]int{}
	for i, a := range inv.Assets {
		ap := fmt.Sprintf("%s.assets[%d]", path, i)
		switch {
		case a.Name == "":
			v.at(ap, "an asset needs a name")
		case names[a.Name] > 0:
			v.at(ap+".name", "duplicate asset %q", a.Name)
		default:
			names[a.Name] = i + 1
		}
		if a.Tier < 1 || a.Tier > 3 {
			v.at(ap+".tier", "expected a tier from 1 (critical) to 3, got %d", a.Tier)
		}
		if countSet(a.Check) > 1 {
			v.at(ap, "an asset takes at most one check (http, tcp, exec or sql)")
		}
		v.check(a.Check, ap)
	}
	for i, a := range inv.Assets {
		for j, dep := range a.DependsOn {
			if names[dep] == 0 {
				v.at(fmt.Sprintf("%s.assets[%d].dependsOn[%d]", path, i, j), "unknown asset %q", dep)
			}
		}
	}
	if _, err := RestoreOrder(inv.Assets); err != nil {
		if ce, ok := err.(*assetCycleError); ok {
			v.at(fmt.Sprintf("%s.assets[%d].dependsOn", path, names[ce.cycle[0]]-1), "%v", err)
		}
	}
	if inv.Readiness != nil {
		for i, r := range inv.Readiness.Rules {
			rp := fmt.Sprintf("%s.readiness.rules[%d]", path, i)
			if r.Tier < 1 || r.Tier > 3 {
				v.at(rp+".tier", "expected a tier from 1 to 3, got %d", r.Tier)
			}
			if !thresholdRE.MatchString(r.MaxNotReady) {
				v.at(rp+".maxNotReady", "%q: expected a count (\"0\", \"2\") or a percentage (\"10%%\")", r.MaxNotReady)
			}
		}
	}
	if inv.Concurrency < 0 {
		v.at(path+".concurrency", "expected 1 or more, got %d", inv.Concurrency)
	}
	switch d := inv.Discover; {
	case d == nil:
	case d.SQL != nil:
		// The decoder reads it, but no activity runs it yet: refuse it here
		// rather than fail the drill at run time.
		v.at(path+".discover.sql", "asset discovery over sql is not supported by this release: discover over http (an endpoint returning a JSON list of assets), or declare the assets")
	case d.HTTP == nil:
		v.at(path+".discover", "expected http: an endpoint returning a JSON list of assets")
	}
}

// countSet counts the non-nil pointer fields of a one-of struct.
func countSet(v any) int {
	rv := reflect.ValueOf(v)
	n := 0
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hasSpec reports whether the step's type-specific fields are set, as
// decoding does for every known type.
func hasSpec(s *Step) bool {
	name := specFieldName(s.Type)
	if name == "" {
		return false
	}
	return !reflect.ValueOf(s).Elem().FieldByName(name).IsNil()
}
