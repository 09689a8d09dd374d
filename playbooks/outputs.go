package playbooks

import (
	"fmt"
	"slices"
	"strings"
)

// OutputKey is one key of a step's output: what a later step reads as
// {{ .steps.ID.output.KEY }}. The keys of every step type are written down
// once, in OutputKeys, from what its activity (or its workflow code) puts in
// the output; validation checks every template reference against them, and
// `drillctl playbook explain TYPE` and the JSON Schema show them.
type OutputKey struct {
	Name string `json:"name"`
	// Type is what the key holds: number, text, true|false, list of text,
	// object or JSON.
	Type        string `json:"type"`
	Description string `json:"description"`
	// Open marks a key holding JSON whose keys are known only at run time
	// (a response body, query rows): any path below it is accepted.
	Open bool `json:"open,omitempty"`
	// Keys are the keys of an object known in advance: a path below the key
	// must name one of them.
	Keys []string `json:"keys,omitempty"`
	// Optional marks a key that is present only sometimes (Description says
	// when). A template reading it when it is absent fails the step; index
	// reads it as nothing instead: {{ index .steps.ID.output "KEY" }}.
	Optional bool `json:"optional,omitempty"`
	// When names the configuration of the step that produces the key
	// (empty: every step of the type), like "an http check" for a probe.
	When string `json:"when,omitempty"`
	// RecordOnly marks a key kept in the drill record that later steps
	// cannot read: this release passes only the results of activities to
	// templates, not what the workflow records itself (approvals, pages,
	// notifications, decisions).
	RecordOnly bool `json:"recordOnly,omitempty"`
}

// Configurations that decide which keys a step produces (OutputKey.When).
const (
	whenHTTPCheck    = "an http check"
	whenTCPCheck     = "a tcp check"
	whenExecCheck    = "an exec check"
	whenSQLCheck     = "a sql check"
	whenSQLExpect    = "a sql check with expect"
	whenPermissions  = "compare: permissions"
	whenMessagesHTTP = "compare: messages over http"
	whenRecordsSQL   = "compare: records, or messages over sql"
	whenDecided      = "an unknown outcome a person decided to continue"
)

// tableKey stands for the keys of a replication-check over sql: one per
// table of its sql.tables.
const tableKey = "TABLE"

// truncatedKey is what every bounded output may carry (see MaxOutputBytes).
var truncatedKey = OutputKey{Name: "truncated", Type: "object", Optional: true,
	Keys:        []string{"bytes", "limit", "attachment", "attachmentError"},
	Description: "present only when the output was over maxOutput (default 64 KiB): the largest values were cut, and the whole output is an evidence attachment"}

// decidedKeys replace an action's output in the drill record when its
// outcome was unknown and a person decided to continue.
var decidedKeys = []OutputKey{
	{Name: "outcome", Type: "text", When: whenDecided, RecordOnly: true, Description: "\"unknown\": the worker was lost after the action was sent"},
	{Name: "decision", Type: "text", When: whenDecided, RecordOnly: true, Description: "what the person decided: continue"},
	{Name: "by", Type: "text", When: whenDecided, RecordOnly: true, Description: "who decided"},
}

// OutputKeys documents, for every step type, the keys of the output its
// steps leave for later steps, in the order `explain` shows them. A wait
// step has no output.
var OutputKeys = map[StepType][]OutputKey{
	StepInventory: {
		{Name: "ready", Type: "true|false", Description: "whether the readiness policy let the drill proceed"},
		{Name: "assets", Type: "number", Description: "how many assets were checked, declared and discovered"},
		{Name: "notReady", Type: "list of text", Description: "the names of the assets that were not ready, sorted"},
		truncatedKey,
	},
	StepHTTP: append([]OutputKey{
		{Name: "status", Type: "number", Description: "the response's HTTP status code"},
		{Name: "body", Type: "text", Description: "the response body, its first 4 KiB, secrets scrubbed"},
		{Name: "json", Type: "JSON", Open: true, Optional: true, Description: "the body decoded, when it is JSON: read any path below it (json.site.role)"},
		truncatedKey,
	}, decidedKeys...),
	StepExec: append([]OutputKey{
		{Name: "exitCode", Type: "number", Description: "the program's exit status"},
		{Name: "stdout", Type: "text", Description: "the last 4 KiB of its standard output, secrets scrubbed"},
		{Name: "stderr", Type: "text", Description: "the last 4 KiB of its standard error, secrets scrubbed"},
		truncatedKey,
	}, decidedKeys...),
	StepProbe: {
		{Name: "status", Type: "number", When: whenHTTPCheck, Description: "the HTTP status code of the successful check"},
		{Name: "body", Type: "text", When: whenHTTPCheck, Description: "its response body, the first 4 KiB"},
		{Name: "json", Type: "JSON", When: whenHTTPCheck, Open: true, Optional: true, Description: "the body decoded, when it is JSON: read any path below it"},
		{Name: "address", Type: "text", When: whenTCPCheck, Description: "the host:port that accepted the connection"},
		{Name: "exitCode", Type: "number", When: whenExecCheck, Description: "the exit status of the successful check"},
		{Name: "stdout", Type: "text", When: whenExecCheck, Description: "the last 4 KiB of its standard output"},
		{Name: "stderr", Type: "text", When: whenExecCheck, Description: "the last 4 KiB of its standard error"},
		{Name: "rowCount", Type: "number", When: whenSQLCheck, Description: "how many rows the check query returned"},
		{Name: "value", Type: "text", When: whenSQLExpect, Description: "the first column of the first row, as text"},
		{Name: "failures", Type: "number", Description: "how many checks failed before the first success"},
		{Name: "firstAttemptAt", Type: "text", Description: "the instant of the first check (RFC 3339, UTC)"},
		{Name: "firstSuccessAt", Type: "text", Description: "the instant the successful check began: what marks service_restored"},
		truncatedKey,
	},
	StepSQL: append([]OutputKey{
		{Name: "rows", Type: "JSON", Open: true, Description: "the rows returned, each an object of column name to value (known only at run time)"},
		{Name: "rowCount", Type: "number", Description: "how many rows were returned"},
		{Name: "command", Type: "text", Description: "the command tag, like \"UPDATE 3\" or \"SELECT 1\""},
		truncatedKey,
	}, decidedKeys...),
	StepCanary: {
		{Name: "newestCanaryId", Type: "text", Description: "the newest marker written before the outage that the standby holds"},
		{Name: "newestCanaryAt", Type: "text", Description: "the instant it was written (RFC 3339, UTC): the RPO is the outage start minus this"},
		truncatedKey,
	},
	StepReplicationCheck: {
		{Name: "primaryGrants", Type: "number", When: whenPermissions, Description: "grants (roles and table privileges) on the primary"},
		{Name: "standbyGrants", Type: "number", When: whenPermissions, Description: "grants on the standby"},
		{Name: "drift", Type: "number", When: whenPermissions, Description: "how many grants differ: missing, extra and changed"},
		{Name: "missing", Type: "list of text", When: whenPermissions, Description: "grants of the primary missing on the standby, as group/subject:permission"},
		{Name: "extra", Type: "list of text", When: whenPermissions, Description: "grants on the standby only"},
		{Name: "changed", Type: "list of text", When: whenPermissions, Description: "grants whose permission differs"},
		{Name: "groups", Type: "JSON", When: whenPermissions, Open: true, Description: "per group (a table, or roles): counts of missing, extra and changed"},
		{Name: "primaryCount", Type: "number", When: whenMessagesHTTP, Description: "messages written on the primary before the outage"},
		{Name: "standbyCount", Type: "number", When: whenMessagesHTTP, Description: "those of them the standby holds"},
		{Name: "primaryNewestAt", Type: "text", When: whenMessagesHTTP, Optional: true, Description: "the instant of the primary's newest such message; absent when it has none"},
		{Name: "standbyNewestAt", Type: "text", When: whenMessagesHTTP, Optional: true, Description: "the instant of the standby's newest; absent when it has none"},
		{Name: "missingOnStandby", Type: "number", When: whenMessagesHTTP, Description: "messages written before the outage missing on the standby"},
		{Name: "missingIds", Type: "list of text", When: whenMessagesHTTP, Optional: true, Description: "the ids of the first 50 of them; absent when none is missing"},
		{Name: "lossWindowSeconds", Type: "number", When: whenMessagesHTTP, Optional: true, Description: "the primary's newest minus the standby's newest, in seconds; absent unless both have messages"},
		{Name: tableKey, Type: "object", When: whenRecordsSQL,
			Keys:        []string{"primaryRows", "standbyRows", "missingOnStandby", "primaryNewestAt", "standbyNewestAt"},
			Description: "one key per table of sql.tables: its rows before the outage on each site, those missing on the standby, the newest instants"},
		{Name: "missingOnStandby", Type: "number", When: whenRecordsSQL, Description: "rows written before the outage missing on the standby, in all tables"},
		truncatedKey,
	},
	StepPage: {
		{Name: "outcome", Type: "text", RecordOnly: true, Description: "acked, or how the escalation ended"},
		{Name: "ackedBy", Type: "text", RecordOnly: true, Description: "the contact who acknowledged"},
		{Name: "level", Type: "number", RecordOnly: true, Description: "the escalation level that acknowledged"},
		{Name: "pages", Type: "number", RecordOnly: true, Description: "how many pages were sent"},
		{Name: "failedPages", Type: "list of text", RecordOnly: true, Optional: true, Description: "the pages that could not be sent; absent when all were"},
	},
	StepApproval: {
		{Name: "by", Type: "text", RecordOnly: true, Description: "who gave the go (comma-separated), or the no-go"},
		{Name: "approvers", Type: "number", RecordOnly: true, Description: "how many approvers gave the go"},
		{Name: "approved", Type: "true|false", RecordOnly: true, Description: "whether the gate opened"},
		{Name: "comment", Type: "text", RecordOnly: true, Description: "the comment of the last decision"},
	},
	StepNotify: {
		{Name: "sent", Type: "number", RecordOnly: true, Description: "how many notifications were sent"},
		{Name: "failed", Type: "list of text", RecordOnly: true, Description: "those that could not be sent, with why"},
	},
	StepWait: {},
}

// outputsOf returns the keys a step leaves for later steps, narrowed to
// its configuration (a probe's check, a replication-check's comparison),
// and a phrase naming what the step is, like "a probe with a tcp check".
func outputsOf(s *Step) ([]OutputKey, string) {
	what := article(string(s.Type)) + " " + string(s.Type) + " step"
	when := ""
	switch {
	case s.Type == StepProbe && s.Probe != nil && countSet(s.Probe.Check) == 1:
		c := s.Probe.Check
		switch {
		case c.HTTP != nil:
			when = whenHTTPCheck
		case c.TCP != nil:
			when = whenTCPCheck
		case c.Exec != nil:
			when = whenExecCheck
		default:
			when = whenSQLCheck
		}
		what = "a probe with " + when
	case s.Type == StepReplicationCheck && s.ReplicationCheck != nil:
		rc := s.ReplicationCheck
		switch {
		case rc.Compare == ComparePermissions:
			when = whenPermissions
		case rc.Compare == CompareMessages && rc.HTTP != nil && rc.SQL == nil:
			when = whenMessagesHTTP
		case (rc.Compare == CompareRecords || rc.Compare == CompareMessages) && rc.SQL != nil && rc.HTTP == nil:
			when = whenRecordsSQL
		}
		if when != "" {
			what = "a replication-check comparing " + rc.Compare
		}
	}
	var out []OutputKey
	seen := map[string]bool{}
	for _, k := range OutputKeys[s.Type] {
		if k.When == whenDecided || seen[k.Name] {
			continue
		}
		if when != "" && k.When != "" && k.When != when &&
			!(when == whenSQLCheck && k.When == whenSQLExpect && s.Probe.SQL.Expect != "") {
			continue
		}
		seen[k.Name] = true
		out = append(out, k)
	}
	return out, what
}

// outputKeyNamed finds name among the keys a step leaves, then among those
// only its record holds. The TABLE key of a replication-check over sql
// stands for each table it names (for any name, when a table name is a
// template).
func outputKeyNamed(s *Step, keys []OutputKey, name string) (OutputKey, bool) {
	for _, k := range keys {
		if k.Name == name {
			return k, true
		}
		if k.Name == tableKey && s.ReplicationCheck != nil && s.ReplicationCheck.SQL != nil {
			for _, t := range s.ReplicationCheck.SQL.Tables {
				if t == name || strings.Contains(t, "{{") {
					return k, true
				}
			}
		}
	}
	for _, k := range OutputKeys[s.Type] {
		if k.Name == name && k.RecordOnly {
			return k, true
		}
	}
	return OutputKey{}, false
}

// readable reports whether later steps can read a step type's output at all.
func readable(t StepType) bool {
	for _, k := range OutputKeys[t] {
		if !k.RecordOnly {
			return true
		}
	}
	return false
}

// keyNames lists the names of the keys of step s later steps can read,
// the TABLE key as the tables it names.
func keyNames(s *Step, keys []OutputKey) []string {
	var out []string
	for _, k := range keys {
		switch {
		case k.RecordOnly:
		case k.Name == tableKey && s.ReplicationCheck != nil && s.ReplicationCheck.SQL != nil:
			out = append(out, s.ReplicationCheck.SQL.Tables...)
		default:
			out = append(out, k.Name)
		}
	}
	return out
}

// outputRef checks a reference to the output of step target, like
// [steps failover output status]: the step leaves an output later steps can
// read, the key is one it produces, and a path below the key fits what the
// key holds.
func (v *validator) outputRef(target *Step, ref []string, path string) {
	id := target.ID
	if !readable(target.Type) {
		what := article(string(target.Type)) + " " + string(target.Type) + " step"
		if keys := OutputKeys[target.Type]; len(keys) > 0 {
			v.at(path, "template refers to the output of step %q, %s, which later steps cannot read: it is kept in the drill record only (%s), "+
				"and the drill would fail when it renders this value", id, what, strings.Join(allKeyNames(keys), ", "))
		} else {
			v.at(path, "template refers to the output of step %q, %s, which has no output: the drill would fail when it renders this value", id, what)
		}
		return
	}
	if len(ref) < 4 {
		return
	}
	keys, what := outputsOf(target)
	name := ref[3]
	k, ok := outputKeyNamed(target, keys, name)
	switch {
	case !ok:
		msg := fmt.Sprintf("template refers to output %q of step %q, which %s does not produce", name, id, what)
		if sug := didYouMean(name, keyNames(target, keys)); sug != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", sug)
		} else {
			msg += fmt.Sprintf(": expected one of %s (drillctl playbook explain %s)", strings.Join(keyNames(target, keys), ", "), target.Type)
		}
		v.at(path, "%s", msg)
	case k.RecordOnly:
		v.at(path, "template refers to output %q of step %q, which later steps cannot read: %s has it in the drill record only, with %s",
			name, id, what, k.When)
	case len(ref) < 5 || k.Open:
	case len(k.Keys) > 0:
		if !slices.Contains(k.Keys, ref[4]) {
			msg := fmt.Sprintf("template refers to .%s, but %s has no key %q", strings.Join(ref, "."), name, ref[4])
			if sug := didYouMean(ref[4], k.Keys); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			} else {
				msg += ": expected one of " + strings.Join(k.Keys, ", ")
			}
			v.at(path, "%s", msg)
		}
	default:
		v.at(path, "template refers to .%s, but %s (%s) is %s, with nothing below it", strings.Join(ref, "."), name, k.Description, typePhrase(k.Type))
	}
}

// allKeyNames lists the names of keys, record-only ones too.
func allKeyNames(keys []OutputKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// typePhrase reads an OutputKey.Type in a sentence.
func typePhrase(t string) string {
	switch t {
	case "text", "JSON":
		return t
	case "true|false":
		return "true or false"
	case "object":
		return "an object"
	}
	return "a " + t
}
