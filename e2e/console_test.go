package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/schedule"
)

// consoleBrowser finds what the browser test needs: node, the npm
// packages of e2e/console (npm ci there) and a Chromium. It skips the test,
// saying what is missing, when one is not there.
func consoleBrowser(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("console browser test: node is not installed (Debian: apt-get install nodejs npm)")
	}
	if v, err := exec.Command(node, "--version").Output(); err != nil || !nodeAtLeast(string(v), 20) {
		t.Skipf("console browser test: node %s is older than 20, which playwright-core needs", strings.TrimSpace(string(v)))
	}
	if _, err := os.Stat(filepath.Join("console", "node_modules", "playwright-core", "package.json")); err != nil {
		t.Skip("console browser test: playwright-core is not installed: run npm ci in e2e/console")
	}
	chromium = os.Getenv("DRILLCTL_TEST_CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		t.Skip("console browser test: no Chromium (Debian: apt-get install chromium, or set DRILLCTL_TEST_CHROMIUM)")
	}
	return node, chromium
}

// nodeAtLeast reports whether `node --version` (v20.20.2) is major or newer.
func nodeAtLeast(version string, major int) bool {
	v, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(version), "v"), ".")
	n, err := strconv.Atoi(v)
	return err == nil && n >= major
}

// consoleAddr is a loopback address nobody listens on, for the console.
func consoleAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// The web console, in a real browser, against a real drillctl serve, worker,
// Temporal server and lab: sign in by link, start the demo playbook,
// acknowledge the page and approve the gate from the page, watch the drill
// complete, open its evidence and see it verified, open the register; and
// the same pages on a phone, in Arabic and by keyboard. Screenshots are
// kept in $DRILLCTL_ARTIFACTS (default: a new temporary folder, named in
// the log).
func TestConsole_BrowserRunsTheDemoDrillFromSignInToTheRegister(t *testing.T) {
	node, chromium := consoleBrowser(t)
	artifacts := os.Getenv("DRILLCTL_ARTIFACTS")
	if artifacts == "" {
		dir, err := os.MkdirTemp("", "drillctl-console-")
		require.NoError(t, err)
		artifacts = dir
	}
	artifacts = filepath.Join(artifacts, "console")
	t.Logf("screenshots: %s", artifacts)
	state := t.TempDir()
	t.Setenv("DRILLCTL_STATE_DIR", state)

	// A worker that signs evidence, and the lab the demo playbook drills.
	privFile, pubFile, err := evidence.GenerateKey(state)
	require.NoError(t, err)
	priv, err := evidence.LoadPrivateKey(privFile)
	require.NoError(t, err)
	pub, err := evidence.LoadPublicKey(pubFile)
	require.NoError(t, err)
	acts := testActivities()
	acts.SigningKey = priv
	startWorkerWith(t, acts, nil)
	l := startTestLab(t, 500*time.Millisecond, time.Second)
	raw, err := os.ReadFile("../playbooks/examples/chat-platform-quarterly.yaml")
	require.NoError(t, err)
	text := strings.NewReplacer("http://127.0.0.1:9101", l.PrimaryURL(), "http://127.0.0.1:9102", l.StandbyURL()).Replace(string(raw))
	pbDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(pbDir, "chat-platform-quarterly.yaml"), []byte(text), 0o600))

	// drillctl serve, in process, as a user would start it.
	addr := consoleAddr(t)
	keyFile := filepath.Join(state, "console.key")
	ctx, stop := context.WithCancel(context.Background())
	var serveOut lockedBuffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &serveOut, Err: &serveOut, Env: os.Getenv}, []string{"drillctl", "serve",
			"--addr", addr, "--address", server.FrontendAddress(), "--namespace", server.Namespace(), "--tls=false",
			"--evidence-dir", evidenceDir, "--pubkey", pubFile, "--playbooks", pbDir, "--console-key", keyFile, "--viewers", "auditor"})
	}()
	t.Cleanup(func() { stop(); wg.Wait() })
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(serveOut.String(), "drillctl console on") {
		require.True(t, time.Now().Before(deadline), "serve did not start:\n%s", serveOut.String())
		time.Sleep(50 * time.Millisecond)
	}

	conn := []string{"--address", server.FrontendAddress(), "--namespace", server.Namespace(), "--tls=false"}
	const sched = "console-e2e-quarterly"
	run := func(args ...string) string {
		var out lockedBuffer
		code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &out, Err: &out, Env: os.Getenv}, append([]string{"drillctl"}, args...))
		require.Equal(t, 0, code, "drillctl %v:\n%s", args, out.String())
		return out.String()
	}
	run(append([]string{"schedule", "create", sched, "--playbook", filepath.Join(pbDir, "chat-platform-quarterly.yaml"),
		"--calendar", "quarterly", "--at", "09:00", "--tz", "Europe/London"}, conn...)...)
	t.Cleanup(func() {
		var out lockedBuffer
		cli.Run(context.Background(), cli.IO{In: strings.NewReader(""), Out: &out, Err: &out, Env: os.Getenv},
			append([]string{"drillctl", "schedule", "delete", sched}, conn...))
	})

	var linkOut lockedBuffer
	code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &linkOut, Err: &linkOut, Env: os.Getenv},
		[]string{"drillctl", "console", "link", "--as", "alice", "--url", "http://" + addr, "--console-key", keyFile})
	require.Equal(t, 0, code, linkOut.String())

	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, "console.test.mjs")
	cmd.Dir = "console"
	cmd.Env = append(os.Environ(), "CONSOLE_URL=http://"+addr, "SIGNIN_LINK="+strings.TrimSpace(linkOut.String()),
		"CHROMIUM="+chromium, "ARTIFACTS="+artifacts, "PLAYBOOK=chat-platform-quarterly", "SCHEDULE="+sched)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("browser test:\n%s", out.String())
	require.NoError(t, err, "the browser test failed; serve said:\n%s", serveOut.String())

	// What the browser did is in the evidence, as alice, via the console.
	m := regexp.MustCompile(`DRILL_ID=(\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m)
	dir := filepath.Join(evidenceDir, m[1])
	res, err := evidence.Verify(dir, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%v", res.Problems)
	rec, err := evidence.ReadRecord(dir)
	require.NoError(t, err)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	require.Len(t, rec.Approvals, 1)
	assert.Equal(t, "alice", rec.Approvals[0].By)
	assert.Equal(t, "console", rec.Approvals[0].Via)
	require.Len(t, rec.Acks, 1)
	assert.Equal(t, "alice", rec.Acks[0].By)
	assert.Equal(t, "console", rec.Acks[0].Via)
	require.NotNil(t, rec.Identity)
	assert.Equal(t, "alice", rec.Identity.InitiatedBy)

	// And what it did to the schedule is in Temporal.
	var sum schedule.Summary
	require.NoError(t, json.Unmarshal([]byte(run(append([]string{"schedule", "describe", sched, "--output", "json"}, conn...)...)), &sum))
	skipped := regexp.MustCompile(`SKIPPED=(\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, skipped)
	assert.Contains(t, sum.Skip, skipped[1])
	assert.False(t, sum.Paused)
	assert.Contains(t, sum.Note, "unpaused by alice (console)")
}
