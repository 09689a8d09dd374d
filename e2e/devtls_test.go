package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/cli"
	"github.com/drillctl/drillctl/devserver"
	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/worker"
)

// drillctlOn runs the CLI in-process against srv, with no TLS flag: what it
// knows of TLS it finds in the state directory.
func drillctlOn(t *testing.T, srv *devserver.Server, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"TEMPORAL_ADDRESS": srv.FrontendAddress(), "TEMPORAL_NAMESPACE": srv.Namespace()}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := cli.Run(ctx, cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Env: func(k string) string { return env[k] }},
		append([]string{"drillctl"}, args...))
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// TestDevTLS_OnlyHoldersOfTheGeneratedCertificateGetIn starts a second
// embedded server the way `drillctl dev` does by default (mutual TLS, the
// CA generated in the state directory) and checks who gets in: not a
// client without the certificate, but the CLI and a worker given no TLS
// flag at all, which find it themselves.
func TestDevTLS_OnlyHoldersOfTheGeneratedCertificateGetIn(t *testing.T) {
	state := t.TempDir()
	t.Setenv(devserver.StateDirEnv, state)
	for _, k := range []string{"TEMPORAL_TLS", "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_API_KEY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	tlsDir, err := devserver.DefaultTLSDir()
	require.NoError(t, err)
	logs := &syncWriter{w: &bytes.Buffer{}}
	srv, err := devserver.Start(context.Background(), devserver.Config{
		DBFile: devserver.MemoryDB, Port: 0, UIPort: -1, TLSDir: tlsDir, LogWriter: logs})
	require.NoError(t, err)
	t.Cleanup(func() {
		srv.Stop()
		if t.Failed() {
			t.Logf("TLS server logs:\n%s", logs.w.String())
		}
	})
	for name, mode := range map[string]os.FileMode{"": 0o700, devserver.ClientKeyFile: 0o600, devserver.ServerKeyFile: 0o600} {
		info, err := os.Stat(filepath.Join(tlsDir, name))
		require.NoError(t, err)
		assert.Equal(t, mode, info.Mode().Perm(), "%s/%s", tlsDir, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Refused: a plaintext client, and a TLS client trusting the CA but
	// holding no certificate.
	off := false
	_, err = worker.Dial(ctx, worker.Connection{Address: srv.FrontendAddress(), TLS: &off})
	assert.Error(t, err, "a plaintext client is refused")
	_, err = worker.Dial(ctx, worker.Connection{Address: srv.FrontendAddress(),
		TLSCA: filepath.Join(tlsDir, devserver.CACertFile)})
	assert.Error(t, err, "a client without a certificate is refused")
	// Someone whose state directory holds no certificate is told what to do.
	t.Setenv(devserver.StateDirEnv, t.TempDir())
	r := drillctlOn(t, srv, "drill", "list")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "requires a client certificate")
	assert.Contains(t, r.stderr, "run drillctl dev first, or pass --tls-cert/--tls-key/--tls-ca")
	_, err = worker.Dial(ctx, worker.Connection{Address: srv.FrontendAddress()})
	assert.True(t, errors.Is(err, worker.ErrCertificateRequired), "%v", err)
	t.Setenv(devserver.StateDirEnv, state)

	// A worker with no TLS flag finds the certificate and polls.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // it is stopped under a running guard
	cl, err := worker.Dial(ctx, worker.Connection{Address: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: quiet})
	require.NoError(t, err)
	defer cl.Close()
	w := worker.New(cl, worker.Options{Activities: testActivities()})
	require.NoError(t, w.Start())
	defer w.Stop()

	// The CLI with no TLS flag runs a drill through it, end to end.
	p := newPlatform(t, 100*time.Millisecond)
	r = drillctlOn(t, srv, "drill", "run", writePlaybook(t, simplePlaybook(p.srv.URL)), "--output", "json")
	require.Equal(t, 0, r.code, "stderr: %s\nstdout: %s", r.stderr, r.stdout)
	rec := decodeRecord(t, r)
	assert.Equal(t, evidence.VerdictMet, rec.Verdict)
	r = drillctlOn(t, srv, "drill", "list", "--output", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, rec.DrillID)

	// dev will not listen beyond loopback without TLS.
	r = drillctlOn(t, srv, "dev", "--ip", "0.0.0.0", "--insecure", "--ui-port", "-1", "--ack-addr", "")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "refusing --ip 0.0.0.0 with --insecure")
	assert.Contains(t, r.stderr, "run commands as you")
}
