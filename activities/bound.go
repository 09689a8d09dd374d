package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Bounding step outputs. Temporal refuses a payload over 2 MB and then fails
// every workflow task of the drill, which wedges it; so no step output may
// reach the workflow bigger than its bound (playbooks.MaxOutputBytes unless
// the step says maxOutput). A bigger output is kept whole as an attachment of
// the drill's evidence bundle, and the record keeps a truncated copy that
// says so.

// BoundOutputs returns the worker interceptor that bounds the output of
// every step activity of a, successful or not. Register it with the worker
// that runs a. (A function, not a method: every exported method of
// Activities is registered as an activity.)
func BoundOutputs(a *Activities) interceptor.WorkerInterceptor {
	return &boundInterceptor{acts: a}
}

type boundInterceptor struct {
	interceptor.WorkerInterceptorBase
	acts *Activities
}

func (b *boundInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &boundActivity{acts: b.acts}
	i.Next = next
	return i
}

type boundActivity struct {
	interceptor.ActivityInboundInterceptorBase
	acts *Activities
}

func (b *boundActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	out, err := b.Next.ExecuteActivity(ctx, in)
	var sin *steps.Input
	if len(in.Args) == 1 {
		if v, ok := in.Args[0].(steps.Input); ok {
			sin = &v
		}
	}
	if sin == nil {
		return out, err
	}
	if res, ok := out.(*steps.Result); ok && res != nil {
		b.acts.boundResult(*sin, res)
	}
	// A failed attempt's partial result travels in the error's details: it
	// is the same *steps.Result, bounded in place.
	if p, ok := partialResult(err); ok {
		b.acts.boundResult(*sin, p)
	}
	return out, err
}

// attachmentStore is what an evidence store offers to keep a large output.
type attachmentStore interface {
	PutAttachment(drillID, name string, data []byte) (string, error)
}

// boundResult truncates res.Output to the step's bound, keeping the whole
// output as an attachment of the drill's evidence when it can.
func (a *Activities) boundResult(in steps.Input, res *steps.Result) {
	limit := playbooks.MaxOutputBytes
	if in.Step.MaxOutput > 0 {
		limit = in.Step.MaxOutput
	}
	whole, err := json.Marshal(res.Output)
	if err != nil || len(whole) <= limit {
		return
	}
	note := map[string]any{"bytes": len(whole), "limit": limit}
	if store, err := a.evidenceStore(); err == nil {
		if as, ok := any(store).(attachmentStore); ok {
			name := fmt.Sprintf("%s-attempt%d-output.json", in.Step.ID, max(in.Attempt, 1))
			if ref, err := as.PutAttachment(in.DrillID, name, whole); err == nil {
				note["attachment"] = ref
			} else {
				note["attachmentError"] = err.Error()
			}
		}
	}
	res.Output = truncateOutput(res.Output, limit)
	res.Output["truncated"] = note
}

// truncateOutput returns a copy of out that marshals to at most about limit
// bytes: the largest values are cut first, so small fields (a status, a
// count) stay readable by later steps.
func truncateOutput(out map[string]any, limit int) map[string]any {
	type sized struct {
		key  string
		size int
	}
	budget := limit - 512 // room for the note
	cut := make(map[string]any, len(out))
	var sizes []sized
	total := 0
	for k, v := range out {
		b, _ := json.Marshal(v)
		sizes = append(sizes, sized{k, len(b)})
		total += len(b) + len(k) + 4
		cut[k] = v
	}
	sort.Slice(sizes, func(i, j int) bool {
		if sizes[i].size != sizes[j].size {
			return sizes[i].size > sizes[j].size
		}
		return sizes[i].key < sizes[j].key
	})
	for _, s := range sizes {
		if total <= budget {
			break
		}
		keep := max(budget-(total-s.size), 0) / 2
		b, _ := json.Marshal(out[s.key])
		if keep > len(b) {
			keep = len(b)
		}
		cut[s.key] = string(b[:keep]) + "…[truncated]"
		total -= s.size - keep - len("…[truncated]") - 2
	}
	return cut
}

// partialResult is the *steps.Result an activity attached to its error as
// details, if any.
func partialResult(err error) (p *steps.Result, ok bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.HasDetails() {
		return nil, false
	}
	defer func() {
		if recover() != nil { // details of another type
			p, ok = nil, false
		}
	}()
	if appErr.Details(&p) != nil || p == nil {
		return nil, false
	}
	return p, true
}
