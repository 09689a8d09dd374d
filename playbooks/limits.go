package playbooks

import (
	"errors"
	"fmt"
	"strings"
)

// Sizes. A drill keeps its playbook, params, step outputs and rendered
// values in its Temporal history, which holds at most 51,200 events, none
// with a payload over 2 MB (the blob size limit). Past either limit the
// server fails the workflow task or terminates the drill, which then ends
// with neither its compensation nor its evidence: these bounds keep a drill
// well inside both, and are checked before anything starts.
const (
	// MaxPlaybookBytes bounds a playbook file. The drill's input carries
	// the whole playbook (its copy goes into the evidence), so a bigger file
	// is refused before it is parsed rather than by the server at start
	// (a raw gRPC ResourceExhausted).
	MaxPlaybookBytes = 256 << 10

	// MaxParamBytes bounds one param value, from the playbook or --set:
	// params travel in the drill's input and in every step that uses them.
	MaxParamBytes = 16 << 10

	// MaxSteps bounds the steps of a playbook, steps and rollback together.
	// Every step takes several history events (scheduled, started,
	// completed, timers, retries); a 10,000-step playbook was terminated by
	// the server at event 51,201.
	MaxSteps = 500

	// MaxOutputBytes is the default bound of one step output in the drill
	// record (its JSON); a bigger output is kept whole as an evidence
	// attachment and truncated in the record.
	MaxOutputBytes = 64 << 10

	// MaxOutputLimit is the largest maxOutput a step may declare: the output
	// travels in an activity result, which Temporal refuses over 2 MB.
	MaxOutputLimit = 1 << 20

	// MaxRenderedBytes bounds one rendered template value: rendering runs
	// in the workflow, and the value is kept in the step's input.
	MaxRenderedBytes = 64 << 10

	// MaxAttempts bounds retry.maxAttempts and an escalation's repeat:
	// every attempt or round is recorded in the drill's history.
	MaxAttempts = 100

	// MaxAliasNodes bounds the YAML values aliases may bring in, counted
	// every time an alias is used (an alias inside an anchor counts again
	// at every use of that anchor). Decoding copies an anchor at each use,
	// so a 1 MB file of 500 nested aliases grew the process to 2.2 GB;
	// sharing a few checks or headers through anchors stays far below it.
	MaxAliasNodes = 10_000

	// MaxTemplateRange bounds the count of a template's {{ range N }} over
	// an integer literal: values are rendered inside the drill's workflow,
	// whose task must not stall.
	MaxTemplateRange = 1000
)

// ParamError is a param value that cannot be used, from CheckParams.
type ParamError struct {
	Name string // the param's name
	Msg  string // what is wrong and how to fix it
}

// Error renders `param "NAME": MESSAGE`.
func (e *ParamError) Error() string { return fmt.Sprintf("param %q: %s", e.Name, e.Msg) }

// CheckParams checks param values, from the playbook or from --set: each is
// text (no NUL byte) of at most MaxParamBytes. The error, if any, joins one
// *ParamError per bad param, in name order.
func CheckParams(params map[string]string) error {
	var errs []error
	for _, name := range sortedNames(params) {
		if msg := paramProblem(params[name]); msg != "" {
			errs = append(errs, &ParamError{Name: name, Msg: msg})
		}
	}
	return errors.Join(errs...)
}

func paramProblem(value string) string {
	if len(value) > MaxParamBytes {
		return fmt.Sprintf("the value is %d bytes, over the limit of %s per param value (MaxParamBytes): "+
			"params travel in the drill's Temporal history; pass a reference to the data (a URL, a file path) instead",
			len(value), sizeText(MaxParamBytes))
	}
	if i := strings.IndexByte(value, 0); i >= 0 {
		return fmt.Sprintf("the value holds a NUL byte (at byte %d): a param is text; remove it", i)
	}
	return ""
}

// params checks the playbook's own params with CheckParams.
func (v *validator) params() {
	err := CheckParams(v.p.Params)
	if err == nil {
		return
	}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *ParamError
		if errors.As(e, &pe) {
			v.at("params."+pe.Name, "%s", pe.Msg)
		}
	}
}

// stepCount refuses more than MaxSteps steps, at the first one over.
func (v *validator) stepCount() {
	n := len(v.p.Steps) + len(v.p.Rollback) + len(v.p.Finally)
	if n <= MaxSteps {
		return
	}
	path := fmt.Sprintf("steps[%d]", MaxSteps)
	if len(v.p.Steps) <= MaxSteps {
		path = fmt.Sprintf("rollback[%d]", MaxSteps-len(v.p.Steps))
	}
	v.at(path, "the playbook has %d steps (steps and rollback together), over the limit of %d (MaxSteps): "+
		"every step adds events to the drill's Temporal history, which holds at most 51,200; split the drill into several playbooks",
		n, MaxSteps)
}

// tooBig is the error of a playbook file over MaxPlaybookBytes.
func tooBig(name string, size int64) ErrorList {
	return ErrorList{{File: name, Msg: fmt.Sprintf("the file is %d bytes, over the limit of %s of a playbook (MaxPlaybookBytes): "+
		"the drill keeps its playbook in its Temporal history, where one payload may not exceed 2 MB; "+
		"keep data out of the playbook (discover assets, pass params with --set) or split the drill", size, sizeText(MaxPlaybookBytes))}}
}

// sizeText renders a byte count a person reads: "16 KiB", "1 MiB", "300 bytes".
func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
