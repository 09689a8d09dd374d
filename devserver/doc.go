// Package devserver runs an embedded Temporal server for one machine: the
// Temporal server's own packages with SQLite persistence (a file, or memory),
// the default namespace registered on first start, and the Temporal Web UI.
//
// It is used by `drillctl dev`, `drillctl demo` and end-to-end tests only;
// nothing else imports it, so the server stays out of other binaries. It must
// never end the process it runs in: ports are checked before anything
// listens, and the server's fatal logs are only logged.
package devserver
