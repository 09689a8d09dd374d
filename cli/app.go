// Package cli holds drillctl's commands: flag parsing and output formatting.
// It holds no business logic: it calls playbooks, worker, devserver, evidence
// and lab, and prints what they return.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// Version is drillctl's version, set at build time with
// -ldflags "-X github.com/drillctl/drillctl/cli.Version=v1.2.3".
var Version = "dev"

// Exit codes shared by every command (see README, "Exit codes").
const (
	ExitOK         = 0 // success; for drills: verdict met
	ExitUsage      = 1 // bad usage, invalid input, connection error
	ExitMissed     = 3 // drill completed but missed or could not measure a target
	ExitDrillFail  = 4 // drill failed or was aborted
	exitCodeNotSet = -1
)

// IO is the process environment a command runs in, passed explicitly so tests
// can run the CLI in-process.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	// Env looks up an environment variable; nil means none is set.
	Env func(string) string
}

// ExitError carries a process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an ExitError with a formatted message.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// commandGroups lists the constructors of every top-level command. Each file
// of this package that adds a command group appends itself in an init
// function, so command groups stay independent of each other.
var commandGroups []func(IO) *ucli.Command

// NewApp builds the drillctl application.
func NewApp(stdio IO) *ucli.App {
	app := &ucli.App{
		Name:    "drillctl",
		Usage:   "run disaster-recovery drills as durable Temporal workflows",
		Version: Version,
		Description: `drillctl runs DR drills from YAML playbooks, measures the RTO, RPO and
response time actually achieved against the targets, and leaves signed evidence.

Examples:
   drillctl playbook validate playbooks/examples/*.yaml
   drillctl playbook plan playbooks/examples/chat-platform-quarterly.yaml
   drillctl demo`,
		Reader:               stdio.In,
		Writer:               stdio.Out,
		ErrWriter:            stdio.Err,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*ucli.Context, error) {}, // Run maps errors to exit codes
		// Global flags: the log every command writes on stderr (cli/logging.go).
		Flags:  logFlags(),
		Before: checkLogFlags,
	}
	for _, group := range commandGroups {
		app.Commands = append(app.Commands, group(stdio))
	}
	sortCommands(app.Commands)
	setUnknownCommand(app) // "unknown command", not "No help topic" (cli/util.go)
	return app
}

// Run runs the application with args (args[0] is the program name) and
// returns the process exit code.
func Run(ctx context.Context, stdio IO, args []string) int {
	if stdio.Env == nil {
		stdio.Env = func(string) string { return "" }
	}
	app := NewApp(stdio)
	err := app.RunContext(ctx, flagsFirst(app.Commands, args))
	if err == nil {
		return ExitOK
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(stdio.Err, "drillctl: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(stdio.Err, "drillctl: %v\n", err)
	return ExitUsage
}

// flagsFirst moves the flags of the command named in args before its
// positional arguments, so `drill run FILE --output json` works: urfave/cli
// stops reading flags at the first positional argument.
func flagsFirst(cmds []*ucli.Command, args []string) []string {
	i := 1
	// Global flags (--log-format json) come before the command's name.
	for i < len(args) && len(args[i]) > 1 && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if name := strings.TrimLeft(args[i], "-"); !strings.Contains(name, "=") && globalTakesValue(name) {
			i++
		}
		i++
	}
	var cmd *ucli.Command
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
		i++
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	var flags, positional []string
	for j := i; j < len(args); j++ {
		a := args[j]
		if a == "--" {
			positional = append(positional, args[j:]...)
			break
		}
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue(cmd, name) && j+1 < len(args) {
				flags = append(flags, args[j+1])
				j++
			}
			continue
		}
		positional = append(positional, a)
	}
	out := append([]string{}, args[:i]...)
	return append(append(out, flags...), positional...)
}

func findCommand(cmds []*ucli.Command, name string) *ucli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// globalTakesValue reports whether the named global flag reads a value.
func globalTakesValue(name string) bool {
	return takesValue(&ucli.Command{Flags: logFlags()}, name)
}

// takesValue reports whether the named flag of cmd reads a value.
func takesValue(cmd *ucli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*ucli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}
