package cli

import (
	"fmt"
	"log/slog"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// Logging: one log/slog logger per process, on stderr, shared by the
// worker, the SDK (through its structured-logger adapter), the activities
// (which add the drill and step to every line) and dev's embedded server.

// Defaults of the logging flags.
const (
	defaultLogFormat = "text"
	defaultLogLevel  = "info"
)

// logFlags shape the log: global flags (`drillctl --log-format json worker`),
// repeated on the commands that run for long (`drillctl worker --log-level
// debug`), where the command's own setting wins.
func logFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "log-format", Value: defaultLogFormat, EnvVars: []string{"DRILLCTL_LOG_FORMAT"}, Category: "Logging",
			Usage: "log format on stderr: text or json (one object a line)"},
		&ucli.StringFlag{Name: "log-level", Value: defaultLogLevel, EnvVars: []string{"DRILLCTL_LOG_LEVEL"}, Category: "Logging",
			Usage: "least severe level logged: debug, info, warn or error (commands that only talk to Temporal log warnings unless it is set)"},
	}
}

// logSetting is a logging flag's value: from the innermost command that
// set it, else the global flag, else def. set says someone set it.
func logSetting(c *ucli.Context, name, def string) (value string, set bool) {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet(name) && ctx.String(name) != "" { // an empty variable is unset
			return ctx.String(name), true
		}
	}
	return def, false
}

// parseLevel reads a level name.
func parseLevel(flag, s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%s %q: expected debug, info, warn or error", flag, s)
}

// newLogger builds the logger the flags ask for, at least at floor.
func newLogger(c *ucli.Context, floor slog.Level) (*slog.Logger, error) {
	format, _ := logSetting(c, "log-format", defaultLogFormat)
	name, _ := logSetting(c, "log-level", defaultLogLevel)
	level, err := parseLevel("--log-level", name)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: err}
	}
	level = max(level, floor)
	opts := &slog.HandlerOptions{Level: level}
	w := c.App.ErrWriter
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, exitf(ExitUsage, "--log-format %q: expected text or json", format)
}

// logger is the logger of a command that runs for long (worker, dev,
// setup): the level the flags say, info by default.
func logger(c *ucli.Context) (*slog.Logger, error) {
	return newLogger(c, slog.LevelDebug)
}

// clientLogger is the logger of a command that only talks to Temporal:
// warnings and up unless --log-level is set, so the SDK's chatter stays
// out of a drill's progress. Bad flags were refused before any command
// ran (checkLogFlags); if one slips through, the SDK's default is used.
func clientLogger(c *ucli.Context) *slog.Logger {
	floor := slog.LevelWarn
	if _, set := logSetting(c, "log-level", defaultLogLevel); set {
		floor = slog.LevelDebug
	}
	l, err := newLogger(c, floor)
	if err != nil {
		return nil
	}
	return l
}

// checkLogFlags refuses bad global logging flags before any command runs.
func checkLogFlags(c *ucli.Context) error {
	level, _ := logSetting(c, "log-level", defaultLogLevel)
	if _, err := parseLevel("--log-level", level); err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	format, _ := logSetting(c, "log-format", defaultLogFormat)
	switch strings.ToLower(format) {
	case "text", "json":
		return nil
	}
	return exitf(ExitUsage, "--log-format %q: expected text or json", format)
}
