package worker

import (
	"crypto/ed25519"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/activities"
	"github.com/drillctl/drillctl/evidence"
)

// Settings are what a worker's activities take from its command line: the
// evidence store and its signing key, the reports' options, who receives
// console pages, the ack links, the trusted signers of playbooks and who
// observes the drills. The worker assembles its activities from them, so
// the command line never builds activities itself.
type Settings struct {
	// Evidence is where bundles go (nil: evidence.DefaultDir()).
	Evidence *evidence.Store
	// SigningKey signs bundles; nil writes them unsigned.
	SigningKey ed25519.PrivateKey
	// ReportTZ is the zone reports render instants in (nil: UTC).
	ReportTZ *time.Location
	// Report are the reports' other options (language, company, logo…).
	Report evidence.RenderOptions
	// Console receives pages and notifications sent to console channels
	// (nil: standard output).
	Console io.Writer
	// AckBaseURL and AckKey put one-click ack links in pages.
	AckBaseURL string
	AckKey     []byte
	// Trust are the keys whose signed playbooks the worker runs; nil runs
	// any playbook.
	Trust []ssh.PublicKey
	// Observer is told of every drill whose evidence was written (metrics).
	Observer activities.Observer
}

// activities assembles the activities these settings describe.
func (s *Settings) activities() *activities.Activities {
	a := activities.New()
	a.Evidence, a.SigningKey, a.ReportTZ, a.Report = s.Evidence, s.SigningKey, s.ReportTZ, s.Report
	if s.Console != nil {
		a.Console = s.Console
	}
	a.AckBaseURL, a.AckKey, a.Trust, a.Observer = s.AckBaseURL, s.AckKey, s.Trust, s.Observer
	return a
}

// RedactDSN returns a connection string with its password replaced, for
// messages (the same rule the activities use).
func RedactDSN(dsn string) string { return activities.RedactDSN(dsn) }
