// Package workflows holds drillctl's Temporal workflow code: the Drill
// workflow that interprets a playbook's step DAG, and its escalation.
//
// Workflow code decides; it never does I/O. It uses workflow.Now,
// workflow.Sleep, workflow.Go and selectors, never iterates a map to decide
// an order, and guards changes with workflow.GetVersion. Everything that
// touches the world is an activity (package activities), called by name with
// the typed inputs of package steps.
package workflows
