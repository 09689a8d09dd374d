// Package worker builds drillctl's Temporal worker (the Drill workflow and
// every step activity on the drillctl task queue) and the client connection
// it and the CLI use: address, namespace, TLS and API key, so the same binary
// runs against the embedded dev server, a self-hosted cluster or Temporal
// Cloud.
package worker
