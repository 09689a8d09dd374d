package activities

import (
	"context"
	"fmt"
	"os"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/steps"
)

// WriteEvidence writes a drill's evidence bundle into the evidence store,
// signed when the worker has a signing key. It stamps the worker's host on
// the record.
func (a *Activities) WriteEvidence(ctx context.Context, in steps.EvidenceInput) (*evidence.EvidenceRef, error) {
	store, err := a.evidenceStore()
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "NoEvidenceStore", nil)
	}
	if host, err := os.Hostname(); err == nil {
		in.Record.Environment.WorkerHost = host
	}
	opts := a.Report
	opts.TZ = a.ReportTZ
	ref, err := store.Write(in.Record, in.Playbook, a.SigningKey, opts)
	if err != nil {
		return nil, fmt.Errorf("write evidence of %s: %w", in.Record.DrillID, err)
	}
	return &ref, nil
}

// evidenceStore is the configured store, or the default one.
func (a *Activities) evidenceStore() (*evidence.Store, error) {
	if a.Evidence != nil {
		return a.Evidence, nil
	}
	dir, err := evidence.DefaultDir()
	if err != nil {
		return nil, err
	}
	return &evidence.Store{Dir: dir}, nil
}
