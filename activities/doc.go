// Package activities holds everything a drill does to the world: HTTP
// requests, programs, probes, SQL, canaries, pages, evidence writing.
//
// Each activity is a method of Activities, which holds the dependencies
// (HTTP client, clock, secret lookup) so tests can swap them. Activities
// take the instants that measures are computed from — on the worker, with the
// wall clock — and they are the only place a `${env:NAME}` secret is
// resolved. A resolved secret never leaves an activity: outputs and errors
// are scrubbed of it before they are returned to the workflow.
package activities
