package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/steps"

	"github.com/drillctl/drillctl/playbooks"
)

// RunExec executes an exec step: a program run directly (argv, no shell).
// The exit code and the tails of stdout and stderr are recorded; ActionAt is
// the instant the program started.
func (a *Activities) RunExec(ctx context.Context, in steps.Input) (*steps.Result, error) {
	spec := in.Step.Exec
	if spec == nil {
		return nil, temporal.NewNonRetryableApplicationError("step has no exec spec", "BadStep", nil)
	}
	res := &steps.Result{StartedAt: a.now()}
	sec := a.secrets()
	stop := func() {}
	out, err := a.runProgram(ctx, sec, *spec, func() { stop = a.markSent(ctx, res) })
	stop()
	res.EndedAt = a.now()
	res.Output = out
	return res, unknownOutcome(ctx, res, sec.scrubErr(err))
}

// runProgram runs spec and checks its exit code. started, if not nil, is
// called just before the program starts.
func (a *Activities) runProgram(ctx context.Context, sec *secrets, spec playbooks.ExecStep, started func()) (map[string]any, error) {
	if len(spec.Command) == 0 {
		return nil, temporal.NewNonRetryableApplicationError("exec: empty command", "BadStep", nil)
	}
	argv := make([]string, len(spec.Command))
	for i, arg := range spec.Command {
		r, err := sec.resolve(arg)
		if err != nil {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
		}
		argv[i] = r
	}
	env, err := sec.resolveMap(spec.Env)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "Secret", nil)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Env = os.Environ()
	for _, k := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitedTail{buf: &stdout}
	cmd.Stderr = &limitedTail{buf: &stderr}
	if started != nil {
		started()
	}
	runErr := cmd.Run()
	exitCode := 0
	if runErr != nil {
		var ee *exec.ExitError
		if !errors.As(runErr, &ee) {
			return nil, fmt.Errorf("exec %s: %w", sec.scrub(argv[0]), runErr)
		}
		exitCode = ee.ExitCode()
	}
	out := map[string]any{
		"exitCode": exitCode,
		"stdout":   sec.scrub(tail(stdout.String(), maxOutputText)),
		"stderr":   sec.scrub(tail(stderr.String(), maxOutputText)),
	}
	want := 0
	if spec.ExpectExit != nil {
		want = *spec.ExpectExit
	}
	if exitCode != want {
		msg := strings.TrimSpace(tail(stderr.String(), 300))
		if msg == "" {
			msg = strings.TrimSpace(tail(stdout.String(), 300))
		}
		return out, unexpectedf("exec %s: exit code %d, expected %d: %s", sec.scrub(argv[0]), exitCode, want, sec.scrub(msg))
	}
	return out, nil
}

// limitedTail keeps at most twice maxOutputText bytes, dropping the oldest,
// so a chatty program cannot exhaust the worker's memory.
type limitedTail struct{ buf *bytes.Buffer }

func (l *limitedTail) Write(p []byte) (int, error) {
	n := len(p)
	l.buf.Write(p)
	if l.buf.Len() > 2*maxOutputText {
		keep := l.buf.Bytes()[l.buf.Len()-maxOutputText:]
		cp := append([]byte(nil), keep...)
		l.buf.Reset()
		l.buf.Write(cp)
	}
	return n, nil
}
