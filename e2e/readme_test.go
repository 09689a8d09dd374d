package e2e

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
)

// readmeBlocks returns the commands of the README's shell blocks that follow
// the paragraph starting with after, in order (comments and blank lines
// dropped, "bin/drillctl" stripped).
func readmeBlocks(t *testing.T, after string, blocks int) [][]string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	text := string(raw)
	i := strings.Index(text, after)
	require.GreaterOrEqual(t, i, 0, "the README no longer has %q", after)
	var out [][]string
	rest := text[i:]
	for len(out) < blocks {
		start := strings.Index(rest, "```sh\n")
		require.GreaterOrEqual(t, start, 0)
		rest = rest[start+len("```sh\n"):]
		end := strings.Index(rest, "```")
		var cmds []string
		for _, line := range strings.Split(rest[:end], "\n") {
			if c, _, _ := strings.Cut(line, "#"); strings.TrimSpace(c) != "" {
				require.True(t, strings.HasPrefix(c, "bin/drillctl "), "README command %q", line)
				cmds = append(cmds, strings.TrimSpace(strings.TrimPrefix(c, "bin/drillctl ")))
			}
		}
		out = append(out, cmds)
		rest = rest[end+3:]
	}
	return out
}

// lockedBuffer is a buffer that a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// runCLI runs one README command in-process, as a user would type it.
func runCLI(ctx context.Context, line string, out *lockedBuffer) int {
	return cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: out, Err: out, Env: os.Getenv},
		append([]string{"drillctl"}, strings.Fields(line)...))
}

// The README's way of running drills yourself is a contract: its commands,
// exactly as written, against a fresh drillctl dev and drillctl lab, give a
// met drill, five times in a row on the same lab.
func TestREADME_RunDrillsYourselfWorksFiveTimesInARow(t *testing.T) {
	for _, port := range []string{"7233", "8233", "8234", "8235", "9101", "9102"} {
		if l, err := net.Listen("tcp", "127.0.0.1:"+port); err != nil {
			t.Skipf("port %s is taken on this machine: %v", port, err)
		} else {
			l.Close()
		}
	}
	state := t.TempDir()
	t.Setenv("HOME", state)
	t.Setenv("DRILLCTL_STATE_DIR", state)
	t.Setenv("XDG_DATA_HOME", state)
	t.Setenv("DRILLCTL_CHROMIUM", "off")
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	blocks := readmeBlocks(t, "To run drills yourself on one machine", 2)
	t.Chdir("..") // the README's commands run from the repository's root
	start, decide := blocks[0], blocks[1]
	require.Len(t, start, 3, "dev, lab and drill run")
	require.Len(t, decide, 2, "ack and approve")

	ctx, stop := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	t.Cleanup(func() { stop(); bg.Wait() })
	var devOut, labOut lockedBuffer
	for _, c := range []struct {
		line string
		out  *lockedBuffer
		port string
	}{{start[0], &devOut, "7233"}, {start[1], &labOut, "9101"}} {
		bg.Add(1)
		go func() { defer bg.Done(); runCLI(ctx, c.line, c.out) }()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if conn, err := net.Dial("tcp", "127.0.0.1:"+c.port); err == nil {
				conn.Close()
				break
			}
			require.True(t, time.Now().Before(deadline), "%q did not start:\n%s", c.line, c.out.String())
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(time.Second) // dev registers its namespace and starts its worker

	idRE := regexp.MustCompile(`drill-chat-platform-quarterly-[0-9a-f-]{36}`)
	for n := 1; n <= 5; n++ {
		var runOut lockedBuffer
		done := make(chan int, 1)
		go func() { done <- runCLI(ctx, start[2], &runOut) }()
		var id string
		deadline := time.Now().Add(time.Minute)
		for id == "" {
			select {
			case code := <-done:
				t.Fatalf("drill %d ended (exit %d) before printing its id:\n%s", n, code, runOut.String())
			default:
			}
			require.True(t, time.Now().Before(deadline), "drill %d printed no id:\n%s", n, runOut.String())
			id = idRE.FindString(runOut.String())
			time.Sleep(50 * time.Millisecond)
		}
		for _, line := range decide {
			line = strings.ReplaceAll(line, "<drill-id>", id)
			// A person acts once the drill asks (the page sent, the gate open).
			for {
				var out lockedBuffer
				if runCLI(ctx, line, &out) == 0 {
					break
				}
				require.True(t, time.Now().Before(deadline), "drill %d: %q kept failing:\n%s", n, line, out.String())
				time.Sleep(200 * time.Millisecond)
			}
		}
		select {
		case code := <-done:
			require.Equal(t, 0, code, "drill %d did not end met:\n%s\n--- dev:\n%s\n--- lab:\n%s", n, runOut.String(), devOut.String(), labOut.String())
		case <-time.After(2 * time.Minute):
			t.Fatalf("drill %d did not end:\n%s", n, runOut.String())
		}
	}
}
