package worker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateDir_FollowsTheDevServersRules(t *testing.T) {
	// The same table as devserver's TestDefaultDBFile_UnderTheStateDirectory:
	// clients must look where dev writes.
	for _, tc := range []struct{ name, own, xdg, home, want string }{
		{"XDG_STATE_HOME set", "", "/tmp/state-home", "/home/u", "/tmp/state-home/drillctl"},
		{"XDG_STATE_HOME unset", "", "", "/home/u", "/home/u/.local/state/drillctl"},
		{"relative XDG_STATE_HOME ignored", "", "state", "/home/u", "/home/u/.local/state/drillctl"},
		{"DRILLCTL_STATE_DIR wins", "/srv/drills", "/tmp/state-home", "/home/u", "/srv/drills"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(StateDirEnv, tc.own)
			t.Setenv("XDG_STATE_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			got, err := DevTLSDir()
			require.NoError(t, err)
			assert.Equal(t, tc.want+"/tls", got)
		})
	}
}

// writeDevCertificate writes what `drillctl dev` leaves for clients: a CA
// and a client certificate and key (here one self-signed certificate).
func writeDevCertificate(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	require.NoError(t, os.WriteFile(filepath.Join(dir, devCAFile), cert, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, devCertFile), cert, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, devKeyFile),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600))
}

// recordServed writes the addresses dev served, as devserver does.
func recordServed(t *testing.T, dir string, addrs ...string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, devAddressesFile), []byte(strings.Join(addrs, "\n")+"\n"), 0o644))
}

func TestConnection_PicksUpTheDevCertificateForLoopbackWhenNothingIsSaid(t *testing.T) {
	state := t.TempDir()
	t.Setenv(StateDirEnv, state)
	dir := filepath.Join(state, "tls")
	writeDevCertificate(t, dir)
	recordServed(t, dir, DefaultAddress, "127.0.0.1:17233")
	off, on := false, true
	for _, tc := range []struct {
		name string
		conn Connection
		want bool
	}{
		{"the default address", Connection{Address: DefaultAddress}, true},
		{"another loopback port", Connection{Address: "127.0.0.1:17233"}, true},
		{"localhost", Connection{Address: "localhost:7233"}, true},
		{"IPv6 loopback", Connection{Address: "[::1]:7233"}, true},
		{"a loopback port dev never served", Connection{Address: "127.0.0.1:7300"}, false},
		{"another host", Connection{Address: "temporal.internal:7233"}, false},
		{"explicit certificate", Connection{Address: DefaultAddress, TLSCert: "c.pem", TLSKey: "k.pem"}, false},
		{"explicit CA", Connection{Address: DefaultAddress, TLSCA: "ca.pem"}, false},
		{"API key", Connection{Address: DefaultAddress, APIKey: "k"}, false},
		{"--tls=false", Connection{Address: DefaultAddress, TLS: &off}, false},
		{"--tls=true", Connection{Address: DefaultAddress, TLS: &on}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.conn.resolve()
			require.NoError(t, err)
			if !tc.want {
				assert.False(t, r.devCert)
				if r.prof.TLS != nil {
					assert.NotEqual(t, filepath.Join(dir, "client.pem"), r.prof.TLS.ClientCertPath, "left as it was")
				}
				return
			}
			require.True(t, r.devCert)
			assert.Equal(t, dir, r.looked)
			assert.Equal(t, filepath.Join(dir, "client.pem"), r.prof.TLS.ClientCertPath)
			assert.Equal(t, filepath.Join(dir, "client-key.pem"), r.prof.TLS.ClientKeyPath)
			assert.Equal(t, filepath.Join(dir, "ca.pem"), r.prof.TLS.ServerCACertPath)
			opts, err := tc.conn.ClientOptions()
			require.NoError(t, err)
			require.NotNil(t, opts.ConnectionOptions.TLS)
			assert.Len(t, opts.ConnectionOptions.TLS.Certificates, 1)
		})
	}

	// Nothing generated: nothing picked up, but the folder was looked in.
	t.Setenv(StateDirEnv, t.TempDir())
	r, err := Connection{Address: DefaultAddress}.resolve()
	require.NoError(t, err)
	assert.Nil(t, r.prof.TLS)
	assert.NotEmpty(t, r.looked)
}

func TestConnection_TLSOffContradictsTLSOptions(t *testing.T) {
	t.Setenv(StateDirEnv, t.TempDir())
	off := false
	_, err := Connection{TLS: &off, TLSCA: "ca.pem"}.ClientOptions()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--tls=false")
	opts, err := Connection{TLS: &off}.ClientOptions()
	require.NoError(t, err)
	assert.Nil(t, opts.ConnectionOptions.TLS)
	on := true
	opts, err = Connection{TLS: &on}.ClientOptions()
	require.NoError(t, err)
	assert.NotNil(t, opts.ConnectionOptions.TLS, "--tls alone: TLS with the system's CAs")
}

func TestDial_ATLSServerAndNoCertificateSaysWhatToDo(t *testing.T) {
	state := t.TempDir()
	t.Setenv(StateDirEnv, state)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Dial(ctx, Connection{Address: srv.Listener.Addr().String()})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCertificateRequired), err.Error())
	assert.Contains(t, err.Error(), "none was found in "+filepath.Join(state, "tls"))
	assert.Contains(t, err.Error(), "run drillctl dev first, or pass --tls-cert/--tls-key/--tls-ca")
}

func TestDial_TheDevCertificateAgainstAPlaintextServerSaysWhatToDo(t *testing.T) {
	state := t.TempDir()
	t.Setenv(StateDirEnv, state)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	writeDevCertificate(t, filepath.Join(state, "tls"))
	recordServed(t, filepath.Join(state, "tls"), ln.Addr().String())
	go func() { // a plaintext server: it answers with bytes that are not TLS
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write([]byte("\x00\x00\x12\x04\x00\x00\x00\x00\x00plaintext"))
			conn.Close()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = Dial(ctx, Connection{Address: ln.Addr().String()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not speak TLS")
	assert.Contains(t, err.Error(), "--tls=false")
}

func TestDial_ACertificateForAnotherAddressSaysSo(t *testing.T) {
	state := t.TempDir()
	t.Setenv(StateDirEnv, state)
	writeDevCertificate(t, filepath.Join(state, "tls"))
	recordServed(t, filepath.Join(state, "tls"), DefaultAddress)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Dial(ctx, Connection{Address: srv.Listener.Addr().String()})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCertificateRequired), err.Error())
	assert.Contains(t, err.Error(), "is for the addresses listed in addresses only")
}

func TestDial_ExplicitOptionsThatDoNotFitTheServerAreExplained(t *testing.T) {
	t.Setenv(StateDirEnv, t.TempDir())
	wantsCert := httptest.NewUnstartedServer(http.NotFoundHandler())
	wantsCert.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	wantsCert.StartTLS()
	defer wantsCert.Close()
	plainTLS := httptest.NewTLSServer(http.NotFoundHandler())
	defer plainTLS.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: plainTLS.Certificate().Raw}), 0o644))
	off := false

	for _, tc := range []struct {
		name string
		conn Connection
		want string
	}{
		{"a CA but no certificate", Connection{Address: wantsCert.Listener.Addr().String(), TLSCA: ca},
			"requires a client certificate (mutual TLS) and none was given: pass --tls-cert/--tls-key/--tls-ca"},
		{"--tls=false to a TLS server", Connection{Address: plainTLS.Listener.Addr().String(), TLS: &off},
			"speaks TLS: pass --tls-ca (or --tls), not --tls=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, err := Dial(ctx, tc.conn)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
