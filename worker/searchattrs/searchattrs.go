// Package searchattrs names the search attributes drills are found by in
// Temporal (the Web UI, `temporal workflow list --query`, drillctl's own
// lists), and registers them on a namespace.
//
// It is a leaf: the Drill workflow upserts these keys, the starter sets
// them, and `drillctl dev` and `drillctl setup` register them, so it imports
// nothing of drillctl's. package worker re-exports the keys.
//
//	DrillPlaybook = 'chat-platform-quarterly' AND DrillStatus = 'running'
//	DrillVerdict = 'missed' AND StartTime > '2026-10-01T00:00:00Z'
//
// Every attribute is a Keyword: matched exactly, never tokenized. A SQL
// visibility store (PostgreSQL, MySQL, SQLite) holds at most 10 custom
// Keyword attributes per namespace; drillctl uses five.
package searchattrs

import (
	"context"
	"fmt"
	"sort"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc"
)

// The search attributes of a drill's workflow execution.
var (
	// Playbook is the playbook's metadata.name.
	Playbook = temporal.NewSearchAttributeKeyKeyword("DrillPlaybook")
	// Status is the drill record's status: running, completed, failed or
	// aborted (evidence.Status…).
	Status = temporal.NewSearchAttributeKeyKeyword("DrillStatus")
	// Verdict is the drill record's verdict once it ended: met, missed,
	// incomplete, or the status of a drill that did not complete.
	Verdict = temporal.NewSearchAttributeKeyKeyword("DrillVerdict")
	// Schedule names the schedule that started the drill; unset for a
	// drill started by hand.
	Schedule = temporal.NewSearchAttributeKeyKeyword("DrillSchedule")
	// Initiator is who started the drill, as they said (verified only for
	// playbooks with identity: signed, in the record).
	Initiator = temporal.NewSearchAttributeKeyKeyword("DrillInitiator")
)

// All are every search attribute of a drill, in a stable order.
var All = []temporal.SearchAttributeKeyKeyword{Playbook, Status, Verdict, Schedule, Initiator}

// Definitions are the attributes to register: name → type.
func Definitions() map[string]enumspb.IndexedValueType {
	defs := make(map[string]enumspb.IndexedValueType, len(All))
	for _, k := range All {
		defs[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return defs
}

// Names are the attributes' names, sorted.
func Names() []string {
	names := make([]string, 0, len(All))
	for _, k := range All {
		names = append(names, k.GetName())
	}
	sort.Strings(names)
	return names
}

// CloudCommand is the tcld command that registers the attributes on a
// Temporal Cloud namespace (whose operator service does not take them
// from an API key): namespace is NAME.ACCOUNT.
func CloudCommand(namespace string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "tcld namespace search-attributes add --namespace %s", namespace)
	for _, name := range Names() {
		fmt.Fprintf(&b, " \\\n    --search-attribute %s=Keyword", name)
	}
	return b.String()
}

// Operator is the part of Temporal's operator service Register uses
// (client.Client.OperatorService() is one).
type Operator interface {
	ListSearchAttributes(ctx context.Context, in *operatorservice.ListSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error)
	AddSearchAttributes(ctx context.Context, in *operatorservice.AddSearchAttributesRequest, opts ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error)
}

// State says which of drillctl's attributes a namespace has.
type State struct {
	// Present are registered with the right type.
	Present []string `json:"present"`
	// Missing are not registered.
	Missing []string `json:"missing"`
	// Conflicting are registered with another type ("DrillStatus is Text").
	Conflicting []string `json:"conflicting,omitempty"`
}

// Check reads which of drillctl's attributes namespace ns has.
func Check(ctx context.Context, op Operator, ns string) (State, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return State{}, fmt.Errorf("list the search attributes of namespace %s: %w", ns, err)
	}
	var st State
	for _, name := range Names() {
		got, ok := resp.GetCustomAttributes()[name]
		if !ok {
			got, ok = resp.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			st.Missing = append(st.Missing, name)
		case got != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			st.Conflicting = append(st.Conflicting, fmt.Sprintf("%s is %s", name, typeName(got)))
		default:
			st.Present = append(st.Present, name)
		}
	}
	return st, nil
}

// Register adds the attributes namespace ns lacks and returns the names it
// added (none when all were there). An attribute registered with another
// type is an error: a SQL store would silently keep the wrong type, and
// drills could not set it.
func Register(ctx context.Context, op Operator, ns string) ([]string, error) {
	st, err := Check(ctx, op, ns)
	if err != nil {
		return nil, err
	}
	if len(st.Conflicting) > 0 {
		return nil, fmt.Errorf("namespace %s: %s, where drillctl needs Keyword: remove it "+
			"(temporal operator search-attribute remove --name NAME) and register again",
			ns, strings.Join(st.Conflicting, ", "))
	}
	if len(st.Missing) == 0 {
		return nil, nil
	}
	add := make(map[string]enumspb.IndexedValueType, len(st.Missing))
	for _, name := range st.Missing {
		add[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: add,
	}); err != nil {
		return nil, fmt.Errorf("register search attributes %s on namespace %s: %w", strings.Join(st.Missing, ", "), ns, err)
	}
	return st.Missing, nil
}

// typeName is a type as Temporal's tools spell it (Keyword, Text, Int…).
func typeName(t enumspb.IndexedValueType) string {
	s := strings.TrimPrefix(t.String(), "INDEXED_VALUE_TYPE_")
	parts := strings.Split(strings.ToLower(s), "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}
