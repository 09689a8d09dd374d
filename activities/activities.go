package activities

import (
	"crypto/ed25519"
	"io"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
)

// Activities are the step activities of a drill. Register a *Activities with
// a worker; the workflow calls its methods through a nil pointer by name.
type Activities struct {
	// HTTP sends the requests of http steps, http probes and replication checks.
	HTTP *http.Client
	// Now is the wall clock instants are taken from.
	Now func() time.Time
	// LookupEnv resolves `${env:NAME}` references.
	LookupEnv func(string) (string, bool)
	// Console receives pages and notifications sent to console channels.
	Console io.Writer
	// Evidence is where evidence bundles go (nil: evidence.DefaultDir()).
	Evidence *evidence.Store
	// SigningKey signs evidence bundles; nil writes them unsigned.
	SigningKey ed25519.PrivateKey
	// ReportTZ is the zone reports render instants in (nil: UTC).
	ReportTZ *time.Location
	// Report are the other options of every bundle's reports: language,
	// company and logo on the cover, sign-off names, the Chromium that prints
	// report.pdf (its TZ is ReportTZ).
	Report evidence.RenderOptions
	// AckBaseURL and AckKey make pages carry a one-click acknowledgement
	// link (package acklink); without them pages say how to ack from a terminal.
	AckBaseURL string
	AckKey     []byte
	// Temporal is the client guards watch drills and describe locks with.
	Temporal client.Client
	// Trust are the keys whose signed playbooks this worker runs; nil runs
	// any playbook (--trust any).
	Trust []ssh.PublicKey
	// Observer is told of every drill whose evidence was written (the
	// worker's metrics); nil tells no one. See Observe.
	Observer Observer
}

// New returns Activities using the real world: the default HTTP transport,
// the wall clock and the process environment.
func New() *Activities {
	return &Activities{
		HTTP:      &http.Client{Timeout: 0},
		Now:       time.Now,
		LookupEnv: os.LookupEnv,
		Console:   os.Stdout,
	}
}

func (a *Activities) now() time.Time {
	if a.Now == nil {
		return time.Now().UTC()
	}
	return a.Now().UTC()
}

func (a *Activities) client() *http.Client {
	if a.HTTP == nil {
		return http.DefaultClient
	}
	return a.HTTP
}
