package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/worker/searchattrs"
)

func TestLogFlags_BadValuesAreUsageErrors(t *testing.T) {
	code, _, errOut := run(t, "--log-format", "yaml", "playbook", "schema")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--log-format "yaml": expected text or json`)
	code, _, errOut = run(t, "--log-level", "loud", "playbook", "schema")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--log-level "loud": expected debug, info, warn or error`)
	code, _, errOut = run(t, "worker", "--trust", "any", "--log-format", "xml")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--log-format "xml"`)
}

func TestFlagsFirst_SkipsGlobalFlags(t *testing.T) {
	app := NewApp(IO{})
	got := flagsFirst(app.Commands, []string{"drillctl", "--log-format", "json", "--log-level=debug",
		"playbook", "validate", "x.yaml", "--output", "json"})
	assert.Equal(t, []string{"drillctl", "--log-format", "json", "--log-level=debug",
		"playbook", "validate", "--output", "json", "x.yaml"}, got)
}

// logWith runs a command whose action logs a debug and an info line, with
// the logging flags global and on the command, as dev and worker have them.
func logWith(t *testing.T, args ...string) string {
	t.Helper()
	var errb bytes.Buffer
	app := &ucli.App{Name: "drillctl", ErrWriter: &errb, Flags: logFlags(), Commands: []*ucli.Command{{
		Name: "worker", Flags: logFlags(),
		Action: func(c *ucli.Context) error {
			l, err := logger(c)
			if err != nil {
				return err
			}
			l.Debug("polling", "drill", "drill-x")
			l.Info("started", "drill", "drill-x", "step", "failover")
			return nil
		},
	}}}
	require.NoError(t, app.Run(append([]string{"drillctl"}, args...)))
	return errb.String()
}

func TestLogger_FormatAndLevelFromTheCommandOrGlobally(t *testing.T) {
	t.Setenv("DRILLCTL_LOG_FORMAT", "")
	t.Setenv("DRILLCTL_LOG_LEVEL", "")
	out := logWith(t, "worker")
	assert.Contains(t, out, `level=INFO msg=started drill=drill-x step=failover`)
	assert.NotContains(t, out, "polling", "info by default")

	out = logWith(t, "--log-format", "json", "--log-level", "debug", "worker")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &line))
	assert.Equal(t, "started", line["msg"])
	assert.Equal(t, "drill-x", line["drill"])
	assert.Equal(t, "failover", line["step"])

	// The command's own setting wins over the global one.
	out = logWith(t, "--log-level", "debug", "worker", "--log-level", "warn")
	assert.Empty(t, out)
	out = logWith(t, "--log-format", "json", "worker", "--log-format", "text")
	assert.Contains(t, out, "level=INFO")
	t.Setenv("DRILLCTL_LOG_FORMAT", "json")
	assert.True(t, json.Valid([]byte(strings.TrimSpace(logWith(t, "worker")))), "from the environment")
}

func TestServe_ABarePortListensOnLoopbackOnly(t *testing.T) {
	url, stop, err := serve(nil, "--pprof-addr", ":0", http.NotFoundHandler())
	require.NoError(t, err)
	defer stop()
	host, _, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	_, _, err = serve(nil, "--metrics-addr", "9464", http.NotFoundHandler())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--metrics-addr "9464": expected HOST:PORT or :PORT`)
}

func TestDev_RefusesABadRetentionOrServerLogLevelBeforeStartingAnything(t *testing.T) {
	code, _, errOut := run(t, "dev", "--retention", "10m", "--ui-port", "-1", "--ack-addr", "")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--retention 10m0s: the server keeps histories at least 1h0m0s")
	code, _, errOut = run(t, "dev", "--server-log-level", "chatty", "--ui-port", "-1", "--ack-addr", "")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--server-log-level "chatty"`)
}

func TestSetup_HelpGivesTheTemporalCloudCommand(t *testing.T) {
	code, out, _ := run(t, "setup", "--help")
	require.Equal(t, ExitOK, code)
	flat := strings.Join(strings.Fields(strings.ReplaceAll(out, "\\\n", " ")), " ")
	want := strings.Join(strings.Fields(strings.ReplaceAll(searchattrs.CloudCommand("NAME.ACCOUNT"), "\\\n", " ")), " ")
	assert.Contains(t, flat, want, "the help's tcld command is the one drillctl prints")
	for _, name := range searchattrs.Names() {
		assert.Contains(t, out, "--search-attribute "+name+"=Keyword")
	}
	assert.True(t, isCloud("ns.acct.tmprl.cloud:7233"))
	assert.False(t, isCloud("temporal.internal:7233"))
}

func TestSetup_NoServerIsAConnectionError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("DRILLCTL_STATE_DIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	code := Run(ctx, IO{Out: &out, Err: &errb}, []string{"drillctl", "setup", "--address", addr, "--tls=false"})
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), "connect to Temporal at "+addr)
}
