package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/drillctl/drillctl/worker/searchattrs"
)

// Search attributes: a drill started by drillctl carries DrillPlaybook and
// DrillStatus (see worker.StartOptions), and the workflow keeps DrillStatus
// and DrillVerdict current, so `temporal workflow list --query
// "DrillVerdict='missed'"`, the Web UI's filters and drill list find it.
// Upserting an attribute the namespace has not registered would fail every
// workflow task of the drill: the workflow upserts only when its start
// carried them (the namespace has them then), never otherwise (a drill
// started by an older drillctl or by hand).

// checkSearchable notes whether the drill may upsert its search attributes.
func (d *drill) checkSearchable(ctx workflow.Context) {
	if workflow.GetVersion(ctx, "search-attributes", workflow.DefaultVersion, 1) != 1 {
		return
	}
	d.searchable = workflow.GetTypedSearchAttributes(ctx).ContainsKey(searchattrs.Status)
}

// publish upserts the drill's status and, once it ended, its verdict.
func (d *drill) publish(ctx workflow.Context) {
	if !d.searchable {
		return
	}
	updates := []temporal.SearchAttributeUpdate{searchattrs.Status.ValueSet(d.rec.Status)}
	if d.rec.Verdict != "" {
		updates = append(updates, searchattrs.Verdict.ValueSet(d.rec.Verdict))
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, updates...)
}
