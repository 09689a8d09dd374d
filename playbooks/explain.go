package playbooks

import (
	"reflect"
	"strings"
)

// StepDoc describes a step type for playbook authors: what it does, the
// fields it is written with and the output later steps read. It is what
// `drillctl playbook explain TYPE` prints.
type StepDoc struct {
	Type    StepType `json:"type"`
	Summary string   `json:"summary"`
	// Action says the step changes the world: attempted once unless its
	// retry says otherwise, and never silently run twice.
	Action  bool        `json:"action"`
	Fields  []FieldDoc  `json:"fields"`
	Outputs []OutputKey `json:"outputs"`
}

// FieldDoc is one field of a step, as written in YAML.
type FieldDoc struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // text, number, duration, list of text, mapping: …
	Required    bool   `json:"required"`
	Common      bool   `json:"common"` // a field of every step, not of this type only
	Description string `json:"description,omitempty"`
}

// stepSummaries say in one line what each step type does.
var stepSummaries = map[StepType]string{
	StepInventory:        "Checks every declared (and discovered) asset and applies the readiness policy: a drill that is not ready stops before anything is touched.",
	StepHTTP:             "Sends one HTTP request and checks the response (status, JSON fields).",
	StepExec:             "Runs a program directly (argv, no shell) and checks its exit status.",
	StepProbe:            "Repeats one check (http, tcp, exec or sql) every interval until it succeeds or its timeout passes; its first success can mark service_restored.",
	StepSQL:              "Runs a statement or a query against a database; the rows become its output.",
	StepCanary:           "Writes markers to the primary until the outage begins, then reads the newest one the standby holds: that gives the RPO.",
	StepReplicationCheck: "Compares what the two sites hold: permissions, messages or records.",
	StepPage:             "Pages an escalation policy level by level until someone acknowledges: that gives the response time.",
	StepApproval:         "Waits for a go/no-go decision from its approvers.",
	StepWait:             "Pauses the drill for a duration.",
	StepNotify:           "Sends a message to contacts without waiting for an answer.",
}

// stepFieldDescriptions describe the fields of one step type, where the
// same name means something else in another type.
var stepFieldDescriptions = map[StepType]map[string]string{
	StepProbe: {
		"http": "An HTTP check: it succeeds when the response has an expected status (and JSON fields).",
		"tcp":  "A TCP check: it succeeds when a connection to address (host:port) opens.",
		"exec": "An exec check: it succeeds when the program exits with the expected status.",
		"sql":  "A SQL check: it succeeds when query runs and, with expect, its first value equals expect.",
	},
	StepCanary: {
		"http":     "Base URLs of the primary and the standby, speaking the lab's replication contract.",
		"sql":      "DSNs of the primary and the standby, and the heartbeat table (default drillctl_heartbeat).",
		"interval": "Time between two canary writes: the resolution of the RPO.",
	},
	StepReplicationCheck: {
		"http": "Base URLs of the primary and the standby, speaking the lab's replication contract.",
		"sql":  "DSNs of the primary and the standby; for records, the tables and their timeColumn.",
	},
	StepHTTP: {"body": "The request body; with a body and no method, the method is POST."},
	StepSQL:  {"args": "Values for the query's $1, $2, … placeholders."},
	StepPage: {
		"escalation": "The escalation policy to page: a key of the playbook's escalation.",
		"message":    "The text of the page (default: the drill asks for an acknowledgement).",
	},
	StepApproval: {"message": "The question put to the approvers."},
	StepNotify: {
		"to":      "The contacts to notify.",
		"message": "The text sent.",
	},
}

// fieldDescription is what a field of a step type means, if it is written down.
func fieldDescription(t StepType, name string) string {
	if d, ok := stepFieldDescriptions[t][name]; ok {
		return d
	}
	return descriptions[name]
}

// Explain describes a step type; false when there is no such type.
func Explain(t StepType) (StepDoc, bool) {
	name := specFieldName(t)
	if name == "" {
		return StepDoc{}, false
	}
	doc := StepDoc{Type: t, Summary: stepSummaries[t], Action: t.IsAction(), Outputs: OutputKeys[t]}
	if doc.Outputs == nil {
		doc.Outputs = []OutputKey{}
	}
	for _, f := range docFields(stepType, t) {
		f.Common = true
		f.Required = f.Required || f.Name == "id" || f.Name == "type"
		if f.Name == "type" {
			f.Type = string(t)
		}
		doc.Fields = append(doc.Fields, f)
	}
	sf, _ := stepType.FieldByName(name)
	doc.Fields = append(doc.Fields, docFields(sf.Type.Elem(), t)...)
	return doc, true
}

// docFields lists the YAML fields of struct type st in their order,
// inline structs flattened; the inline type-specific fields of Step are
// left out.
func docFields(st reflect.Type, typ StepType) []FieldDoc {
	var out []FieldDoc
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			if sf.Type.Kind() == reflect.Struct {
				out = append(out, docFields(sf.Type, typ)...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name[:1]) + sf.Name[1:]
		}
		out = append(out, FieldDoc{
			Name:        name,
			Type:        typeText(sf.Type),
			Required:    !strings.Contains(opts, "omitempty") && sf.Type.Kind() != reflect.Pointer,
			Description: fieldDescription(typ, name),
		})
	}
	return out
}

// typeText says in words what a field of type t holds.
func typeText(t reflect.Type) string {
	switch t {
	case durationType:
		return "duration"
	case reflect.TypeOf(StepType("")):
		return "step type"
	case reflect.TypeOf(Mark("")):
		return "outage_start or service_restored"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeText(t.Elem())
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	case reflect.Slice:
		elem := typeText(t.Elem())
		switch {
		case elem == "number":
			return "list of numbers"
		case strings.HasPrefix(elem, "mapping"):
			return "list of " + strings.Replace(elem, "mapping", "mappings", 1)
		}
		return "list of " + elem
	case reflect.Map:
		return "mapping of " + typeText(t.Elem())
	case reflect.Struct:
		var names []string
		for _, f := range docFields(t, "") {
			names = append(names, f.Name)
		}
		return "mapping: " + strings.Join(names, ", ")
	}
	return t.String()
}
