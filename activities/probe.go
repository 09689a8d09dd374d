package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/steps"

	"github.com/drillctl/drillctl/playbooks"
)

// DefaultProbeInterval is the interval of a probe that declares none.
const DefaultProbeInterval = time.Second

// RunProbe executes a probe step: it repeats its check every interval until
// the check succeeds or the step's timeout has passed since the first
// attempt. FirstSuccessAt is the instant the successful check began; the
// probe interval is the resolution of that instant.
func (a *Activities) RunProbe(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.Probe
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no probe spec", "BadStep", nil)
	}
	interval := spec.Interval.D()
	if interval <= 0 {
		interval = DefaultProbeInterval
	}
	res := &steps.Result{StartedAt: a.now(), ResolutionSeconds: interval.Seconds()}
	sec := a.secrets()

	// Progress is heartbeated so a probe retried on another worker (by
	// Temporal, or by the workflow after a heartbeat timeout) keeps its first
	// attempt's instant and its count of failures.
	var progress steps.Progress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &progress)
	} else if in.Resume != nil {
		progress = *in.Resume
	}
	if progress.FirstAttemptAt.IsZero() {
		progress.FirstAttemptAt = res.StartedAt
	}
	var deadline time.Time
	switch {
	case in.Deadline != nil:
		deadline = *in.Deadline
	case in.Step.Timeout.D() > 0:
		deadline = progress.FirstAttemptAt.Add(in.Step.Timeout.D())
	}

	for {
		attemptAt := a.now()
		out, err := a.check(ctx, sec, spec.Check, interval)
		if err == nil {
			res.FirstSuccessAt = &attemptAt
			res.EndedAt = a.now()
			if out == nil {
				out = map[string]any{}
			}
			out["failures"] = progress.Failures
			out["firstAttemptAt"] = progress.FirstAttemptAt.Format(time.RFC3339Nano)
			out["firstSuccessAt"] = attemptAt.Format(time.RFC3339Nano)
			res.Output = out
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		progress.Failures++
		progress.LastError = sec.scrub(err.Error())
		activity.RecordHeartbeat(ctx, progress)

		next := attemptAt.Add(interval)
		if !deadline.IsZero() && !next.Before(deadline) {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("probe did not succeed within %s (%d failed checks; last: %s)",
					in.Step.Timeout.D(), progress.Failures, progress.LastError), "ProbeTimeout", nil)
		}
		wait := next.Sub(a.now())
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-workerStopping(ctx):
				// A probe is read-only: it does not hold up a stopping worker;
				// it carries on, with its progress, on another one.
				return nil, temporal.NewNonRetryableApplicationError("the worker is stopping", ErrWorkerStopping, nil, progress)
			case <-time.After(wait):
			}
		}
	}
}

// check runs one health check. Each attempt is bounded by the probe interval
// (at least one second) so a hung target cannot stall the probe.
func (a *Activities) check(ctx context.Context, sec *secrets, c playbooks.Check, interval time.Duration) (map[string]any, error) {
	limit := interval
	if limit < time.Second {
		limit = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	switch {
	case c.HTTP != nil:
		h := c.HTTP
		return a.doHTTP(ctx, sec, httpRequest{Method: h.Method, URL: h.URL, Headers: h.Headers,
			ExpectStatus: h.ExpectStatus, ExpectJSON: h.ExpectJSON}, nil)
	case c.TCP != nil:
		addr, err := sec.resolve(c.TCP.Address)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("tcp %s: %w", addr, err)
		}
		conn.Close()
		return map[string]any{"address": sec.scrub(addr)}, nil
	case c.Exec != nil:
		return a.runProgram(ctx, sec, *c.Exec, nil)
	case c.SQL != nil:
		return a.sqlCheck(ctx, sec, *c.SQL)
	}
	return nil, errors.New("probe has no check (http, tcp, exec or sql)")
}

// workerStopping is closed when the activity's worker starts to stop (never,
// outside a worker).
func workerStopping(ctx context.Context) (ch <-chan struct{}) {
	defer func() {
		if recover() != nil {
			ch = nil
		}
	}()
	return activity.GetWorkerStopChannel(ctx)
}
