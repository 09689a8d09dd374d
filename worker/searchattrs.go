package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker/searchattrs"
	"github.com/drillctl/drillctl/workflows"
)

// The search attributes of a drill (package searchattrs, which the Drill
// workflow imports to upsert them: it cannot import this package).
var (
	SearchPlaybook  = searchattrs.Playbook
	SearchStatus    = searchattrs.Status
	SearchVerdict   = searchattrs.Verdict
	SearchSchedule  = searchattrs.Schedule
	SearchInitiator = searchattrs.Initiator
)

// StartOptions are the options a drill's workflow is started with: its id
// (in.DrillID), the drillctl task queue, a duplicate id refused, the memo
// `drill list` shows (playbook, digest, schedule), the search attributes
// known at start (DrillPlaybook, DrillStatus=running, DrillInitiator,
// DrillSchedule) and a summary for the Web UI.
//
// Starting fails while the namespace lacks the search attributes
// (drillctl setup registers them; drillctl dev does it itself):
// ExplainStartError says so.
func StartOptions(in workflows.DrillInput) client.StartWorkflowOptions {
	name := in.Playbook.Metadata.Name
	memo := map[string]any{"playbook": name, "digest": in.Playbook.Source.Digest}
	attrs := []temporal.SearchAttributeUpdate{
		SearchPlaybook.ValueSet(name),
		SearchStatus.ValueSet(evidence.StatusRunning),
	}
	if in.Schedule != "" {
		memo["schedule"] = in.Schedule
		attrs = append(attrs, SearchSchedule.ValueSet(in.Schedule))
	}
	if who := initiator(in); who != "" {
		attrs = append(attrs, SearchInitiator.ValueSet(who))
	}
	return client.StartWorkflowOptions{
		ID:                    in.DrillID,
		TaskQueue:             workflows.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		Memo:                  memo,
		TypedSearchAttributes: temporal.NewSearchAttributes(attrs...),
		StaticSummary:         summary(in),
		StaticDetails:         details(in),
	}
}

// initiator is who started the drill: as they said, else the signer of
// the signed start.
func initiator(in workflows.DrillInput) string {
	if in.Initiator != "" {
		return in.Initiator
	}
	if in.Start != nil {
		return in.Start.Statement.Signer
	}
	return ""
}

// summary is the one line the Web UI shows for the drill.
func summary(in workflows.DrillInput) string {
	s := "Drill of " + in.Playbook.Metadata.Name
	if in.DryRun {
		s = "Dry run of " + in.Playbook.Metadata.Name
	}
	if in.Schedule != "" {
		s += " (schedule " + in.Schedule + ")"
	}
	if who := initiator(in); who != "" {
		s += ", started by " + who
	}
	return s
}

// details is the Markdown the Web UI shows under the summary: what the
// drill is held to, and how to follow it.
func details(in workflows.DrillInput) string {
	pb := in.Playbook
	var b strings.Builder
	fmt.Fprintf(&b, "**Playbook** `%s` (%s)", pb.Metadata.Name, pb.Source.Digest)
	if pb.Metadata.Owner != "" {
		fmt.Fprintf(&b, ", owner %s", pb.Metadata.Owner)
	}
	b.WriteString("\n\n")
	var targets []string
	for _, t := range []struct {
		name string
		d    fmt.Stringer
		set  bool
	}{{"RTO", pb.Targets.RTO, pb.Targets.RTO != nil}, {"RPO", pb.Targets.RPO, pb.Targets.RPO != nil},
		{"response", pb.Targets.Response, pb.Targets.Response != nil}} {
		if t.set {
			targets = append(targets, fmt.Sprintf("%s ≤ %s", t.name, t.d))
		}
	}
	if len(targets) > 0 {
		fmt.Fprintf(&b, "**Targets** %s\n\n", strings.Join(targets, ", "))
	}
	fmt.Fprintf(&b, "Follow it: `drillctl drill watch %s`", in.DrillID)
	return b.String()
}

// ExplainStartError adds what to do to a drill start the server refused
// because the namespace lacks drillctl's search attributes; other errors
// are returned as they are.
func ExplainStartError(err error, namespace string) error {
	var invalid *serviceerror.InvalidArgument
	if err == nil || !errors.As(err, &invalid) || !mentionsAttribute(invalid.Error()) {
		return err
	}
	return fmt.Errorf("%w\n  namespace %s lacks drillctl's search attributes: register them with "+
		"drillctl setup --namespace %s (on Temporal Cloud: %s)", err, namespace, namespace,
		strings.ReplaceAll(searchattrs.CloudCommand(namespace), " \\\n    ", " "))
}

// mentionsAttribute reports whether a server message names one of
// drillctl's search attributes.
func mentionsAttribute(msg string) bool {
	for _, name := range searchattrs.Names() {
		if strings.Contains(msg, name) {
			return true
		}
	}
	return false
}

// RegisterSearchAttributes registers drillctl's search attributes on
// namespace ns (the operator service's AddSearchAttributes), leaving those
// already there, and returns the names it added.
func RegisterSearchAttributes(ctx context.Context, c Client, ns string) ([]string, error) {
	return searchattrs.Register(ctx, c.OperatorService(), ns)
}

// CheckSearchAttributes says which of drillctl's search attributes
// namespace ns has.
func CheckSearchAttributes(ctx context.Context, c Client, ns string) (searchattrs.State, error) {
	return searchattrs.Check(ctx, c.OperatorService(), ns)
}
