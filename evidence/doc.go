// Package evidence holds the drill record model and the evidence bundle: its
// rendering (JSON, Markdown, HTML), manifest, ed25519 signature, verification,
// attachments and store. What it writes is its owner's only (folders 0700,
// files 0600).
//
// The record model (record.go) is imported by workflow code, so that file does
// no I/O and imports nothing but the standard library's time package.
package evidence
