// Package worker builds drillctl's Temporal worker (the Drill workflow and
// every step activity on the drillctl task queue) and the client connection
// it and the CLI use: address, namespace, TLS and API key — from the fields
// of Connection, else Temporal's own client configuration (TEMPORAL_*
// variables, temporal.toml profiles) — so the same binary runs against the
// embedded dev server, a self-hosted cluster or Temporal Cloud. It also
// holds what starting a drill takes (StartOptions) and drillctl's search
// attributes (package searchattrs, re-exported here).
package worker
