package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Guard defaults.
const (
	// DefaultGuardInterval is how often a guard that declares none is evaluated.
	DefaultGuardInterval = 5 * time.Second
	// DefaultGuardTolerate is how many consecutive evaluations a guard may
	// fail to make before it counts as breached.
	DefaultGuardTolerate = 3
)

// RunGuard evaluates a guard every interval, up to in.Evaluations times,
// and returns at once when it breaches: an answer that violates it, or more
// than tolerate consecutive evaluations that could not be made. It is
// read-only; the workflow calls it again and again while the guard is on,
// so a lost worker loses at most one batch of points.
func (a *Activities) RunGuard(ctx context.Context, in steps.GuardInput) (*steps.GuardResult, error) {
	g := in.Guard
	interval := g.Interval.D()
	if interval <= 0 {
		interval = DefaultGuardInterval
	}
	tolerate := DefaultGuardTolerate
	if g.Tolerate != nil {
		tolerate = *g.Tolerate
	}
	res := &steps.GuardResult{Failures: in.Failures}
	sec := a.secrets()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; n < max(in.Evaluations, 1); n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return res, nil
			case <-workerStopping(ctx):
				return res, nil // the workflow evaluates again, on another worker
			case <-tick.C:
			}
		}
		at := a.now()
		value, breached, err := a.evaluateGuard(ctx, sec, g, interval)
		p := evidence.GuardPoint{At: at, Value: value, OK: err == nil && !breached}
		switch {
		case breached:
			p.Error = sec.scrub(err.Error())
			res.Breached, res.At, res.Reason = true, &at, p.Error
			res.Value = formatValue(value)
		case err != nil:
			p.Error = sec.scrub(err.Error())
			res.Failures++
			if res.Failures > tolerate {
				res.Breached, res.At = true, &at
				res.Reason = fmt.Sprintf("could not be evaluated %d times in a row (tolerate: %d): %s", res.Failures, tolerate, p.Error)
			}
		default:
			res.Failures = 0
		}
		res.Points = append(res.Points, p)
		activity.RecordHeartbeat(ctx, res.Failures)
		if res.Breached {
			return res, nil
		}
	}
	return res, nil
}

// evaluateGuard evaluates a guard once. breached says the guard's condition
// was violated (err then says how); an err alone says it could not be
// evaluated.
func (a *Activities) evaluateGuard(ctx context.Context, sec *secrets, g playbooks.Guard, interval time.Duration) (*float64, bool, error) {
	if g.Prometheus != nil {
		return a.evaluatePrometheus(ctx, sec, *g.Prometheus, interval)
	}
	_, err := a.check(ctx, sec, g.Check, interval)
	var unexpected *unexpectedError
	if errors.As(err, &unexpected) {
		return nil, true, err // it answered, wrongly
	}
	return nil, false, err
}

// evaluatePrometheus runs an instant query (GET /api/v1/query) and compares
// every sample with the guard's condition; the breaching value, or the
// largest one, is returned.
func (a *Activities) evaluatePrometheus(ctx context.Context, sec *secrets, p playbooks.PrometheusCheck, interval time.Duration) (*float64, bool, error) {
	op, threshold, watchOnly := "", 0.0, p.BreachIf == ""
	if !watchOnly { // a context metric is sampled, never breached
		var err error
		if op, threshold, err = playbooks.ParseBreach(p.BreachIf); err != nil {
			return nil, false, temporal.NewNonRetryableApplicationError(err.Error(), "BadStep", nil)
		}
	}
	base, err := sec.resolve(p.URL)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, max(interval, time.Second))
	defer cancel()
	u := strings.TrimRight(base, "/") + "/api/v1/query?query=" + url.QueryEscape(p.Query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("prometheus %s: %w", playbooks.ShowRefs(p.URL), err)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("prometheus %s: %s", playbooks.ShowRefs(p.URL), sec.scrub(err.Error()))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Status != "success" {
		return nil, false, fmt.Errorf("prometheus query %q: status %d %s %s", p.Query, resp.StatusCode, doc.Error, truncate(string(raw), 200))
	}
	values, err := promValues(doc.Data.ResultType, doc.Data.Result)
	if err != nil {
		return nil, false, fmt.Errorf("prometheus query %q: %w", p.Query, err)
	}
	var shown *float64
	for _, v := range values {
		if !watchOnly && playbooks.Breaches(op, threshold, v) {
			return &v, true, fmt.Errorf("%s = %s, breaches %s", p.Query, formatValue(&v), p.BreachIf)
		}
		if shown == nil || v > *shown {
			shown = &v
		}
	}
	return shown, false, nil
}

// promValues reads the sample values of an instant query's result.
func promValues(resultType string, result json.RawMessage) ([]float64, error) {
	parse := func(pair []any) (float64, error) {
		if len(pair) != 2 {
			return 0, errors.New("a sample is not [time, value]")
		}
		s, _ := pair[1].(string)
		return strconv.ParseFloat(s, 64)
	}
	switch resultType {
	case "scalar":
		var pair []any
		if err := json.Unmarshal(result, &pair); err != nil {
			return nil, err
		}
		v, err := parse(pair)
		return []float64{v}, err
	case "vector":
		var samples []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(result, &samples); err != nil {
			return nil, err
		}
		out := make([]float64, 0, len(samples))
		for _, s := range samples {
			v, err := parse(s.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("result type %q: expected a vector or a scalar", resultType)
}

func formatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}
