package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// tlsFor is the client side of the server's mutual TLS: with the generated
// client certificate, or none.
func tlsFor(t *testing.T, creds *Credentials, withCert bool) *tls.Config {
	t.Helper()
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(creds.CACert))
	conf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if withCert {
		pair, err := tls.X509KeyPair(creds.ClientCert, creds.ClientKey)
		require.NoError(t, err)
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf
}

func dialWith(srv *Server, conf *tls.Config) (client.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(),
		Logger: quiet, ConnectionOptions: client.ConnectionOptions{TLS: conf}})
}

// TestServer_MutualTLSOnEveryInterfaceKeepsItsOwnClientsWorking starts one
// server the way `drillctl dev --ip 0.0.0.0` does and checks each of its
// clients: outsiders without the certificate, the frontend's nodes to each
// other, its system workers, and the Web UI.
func TestServer_MutualTLSOnEveryInterfaceKeepsItsOwnClientsWorking(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	srv := start(t, Config{DBFile: MemoryDB, IP: "0.0.0.0", UIPort: 0, TLSDir: dir})
	creds := srv.Credentials()
	require.NotNil(t, creds)
	assert.Equal(t, dir, creds.Dir)
	recorded, err := os.ReadFile(creds.File(AddressesFile))
	require.NoError(t, err)
	assert.Equal(t, srv.FrontendAddress()+"\n", string(recorded), "clients learn where to use the certificate")

	// Only the frontend faces the network; the server's clients use loopback.
	assert.True(t, strings.HasPrefix(srv.ListenAddress(), "0.0.0.0:"), srv.ListenAddress())
	assert.True(t, strings.HasPrefix(srv.FrontendAddress(), "127.0.0.1:"), srv.FrontendAddress())
	assert.True(t, strings.HasPrefix(srv.UIAddress(), "http://127.0.0.1:"), srv.UIAddress())
	internal := srv.InternalAddresses()
	require.Len(t, internal, NumInternalPorts)
	for _, addr := range internal[:3] {
		assert.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)
	}

	// Outsiders are refused: no TLS, or TLS without the certificate.
	_, err = dialWith(srv, nil)
	assert.Error(t, err, "a plaintext client is refused")
	_, err = dialWith(srv, tlsFor(t, creds, false))
	assert.Error(t, err, "a client without a certificate is refused")
	// The internal ports want the certificate too.
	for _, addr := range internal[:3] {
		conn, err := tls.Dial("tcp", addr, tlsFor(t, creds, false))
		if err == nil {
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		assert.Error(t, err, "%s wants the CA's certificate", addr)
	}

	// With the certificate, a workflow and its activity run: the frontend,
	// history and matching reach each other over mutual TLS.
	c, err := dialWith(srv, tlsFor(t, creds, true))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	w := runWorker(t, c)
	defer w.Stop()
	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "tls-greet", TaskQueue: "devserver-test"}, greetWorkflow, "tls")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	assert.Equal(t, "hello tls", got)

	// The worker service's system workers reach the frontend: a schedule
	// triggered now starts its workflow.
	sched, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: "tls-schedule", TriggerImmediately: true,
		Action: &client.ScheduleWorkflowAction{ID: "scheduled", Workflow: greetWorkflow, Args: []any{"schedule"},
			TaskQueue: "devserver-test"},
	})
	require.NoError(t, err)
	var scheduled string
	require.Eventually(t, func() bool {
		d, err := sched.Describe(ctx)
		if err != nil || len(d.Info.RecentActions) == 0 {
			return false
		}
		scheduled = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		return true
	}, 20*time.Second, 50*time.Millisecond, "the schedule started its workflow")
	require.NoError(t, c.GetWorkflow(ctx, scheduled, "").Get(ctx, &got))
	assert.Equal(t, "hello schedule", got)

	// The Web UI reaches the frontend with the client certificate, and reads only.
	resp, err := http.Get(srv.UIAddress() + "/api/v1/namespaces/default/workflows?query=" + "WorkflowId%3D%27tls-greet%27")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "tls-greet")
	resp, err = http.Get(srv.UIAddress() + "/api/v1/settings")
	require.NoError(t, err)
	var settings struct{ DisableWriteActions bool }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&settings))
	resp.Body.Close()
	assert.True(t, settings.DisableWriteActions)
	req, err := http.NewRequest(http.MethodPost, srv.UIAddress()+"/api/v1/namespaces/default/workflows/tls-greet/signal/go",
		strings.NewReader(`{}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer anything") // past the CSRF check, to the write check
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "the UI refuses writes")
}

func TestStart_RefusesPlaintextBeyondLoopback(t *testing.T) {
	for _, ip := range []string{"0.0.0.0", "::", "192.0.2.10"} {
		_, err := Start(context.Background(), Config{DBFile: MemoryDB, IP: ip, UIPort: -1})
		require.Error(t, err, ip)
		assert.Contains(t, err.Error(), "refusing to listen on "+ip+" without TLS", ip)
	}
	_, err := Start(context.Background(), Config{DBFile: MemoryDB, IP: "my-laptop", UIPort: -1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--ip "my-laptop" is not an IP address`)
}

// freeRange finds n consecutive free ports on loopback.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + int(time.Now().UnixNano()%20000); base < 65000; base += n {
		ok := true
		for i := range n {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+i)))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range")
	return 0
}

func TestReservePorts_InternalPortsCanBePinned(t *testing.T) {
	base := freeRange(t, NumInternalPorts)
	p, err := reservePorts("127.0.0.1", "127.0.0.1", 0, -1, base)
	require.NoError(t, err)
	assert.Equal(t, []int{base, base + 1, base + 2, base + 3}, []int{p.history, p.matching, p.worker, p.frontendHTTP})

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+2)))
	require.NoError(t, err)
	defer ln.Close()
	_, err = reservePorts("127.0.0.1", "127.0.0.1", 0, -1, base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "port "+strconv.Itoa(base+2)+" is in use")
	assert.Contains(t, err.Error(), "--internal-ports")
}

func TestCertificateHosts(t *testing.T) {
	assert.Equal(t, []string{"localhost", "127.0.0.1", "::1"}, certificateHosts(net.ParseIP("127.0.0.1")))
	assert.Equal(t, []string{"localhost", "127.0.0.1", "::1", "192.0.2.10"}, certificateHosts(net.ParseIP("192.0.2.10")))
	assert.Equal(t, []string{"localhost", "127.0.0.1", "::1", "127.0.0.2"}, certificateHosts(net.ParseIP("127.0.0.2")))
}
