package devserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testHosts = []string{"localhost", "127.0.0.1", "::1"}

// parseCert reads the first certificate of a PEM file.
func parseCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	block, _ := pem.Decode(raw)
	require.NotNil(t, block, "%s holds PEM", path)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

// readAll maps each file of dir to its content.
func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range credentialFiles {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		out[name] = string(raw)
	}
	return out
}

func TestLoadOrCreateCredentials_FirstStartMakesACAAndTwoCertificatesPrivately(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	dir := filepath.Join(state, "tls")
	creds, err := LoadOrCreateCredentials(dir, append(testHosts, "192.0.2.10"))
	require.NoError(t, err)
	assert.Equal(t, credentialFiles, creds.Created)
	assert.Equal(t, dir, creds.Dir)

	modes := map[string]fs.FileMode{
		state: 0o700, dir: 0o700,
		creds.File(CACertFile): 0o644, creds.File(caKeyFile): 0o600,
		creds.File(ServerCertFile): 0o644, creds.File(ServerKeyFile): 0o600,
		creds.File(ClientCertFile): 0o644, creds.File(ClientKeyFile): 0o600,
	}
	for path, want := range modes {
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, want, info.Mode().Perm(), path)
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "no temporary file is left behind")

	ca := parseCert(t, creds.File(CACertFile))
	assert.True(t, ca.IsCA)
	pub, ok := ca.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok, "an ECDSA key")
	assert.Equal(t, elliptic.P256(), pub.Curve)
	assert.WithinDuration(t, time.Now().AddDate(10, 0, 0), ca.NotAfter, time.Hour, "the CA lasts ten years")

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	server := parseCert(t, creds.File(ServerCertFile))
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "192.0.2.10"} {
		_, err := server.Verify(x509.VerifyOptions{DNSName: host, Roots: roots})
		assert.NoError(t, err, "the server certificate is good for %s", host)
	}
	_, err = server.Verify(x509.VerifyOptions{DNSName: "192.0.2.11", Roots: roots})
	assert.Error(t, err, "and for nothing else")
	// The server's own nodes present it to each other, so it is a client's too.
	_, err = server.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	client := parseCert(t, creds.File(ClientCertFile))
	_, err = client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err)
	_, err = client.Verify(x509.VerifyOptions{Roots: roots})
	assert.Error(t, err, "the client certificate cannot serve")

	// What Credentials holds is what the files hold.
	files := readAll(t, dir)
	assert.Equal(t, files[CACertFile], string(creds.CACert))
	assert.Equal(t, files[ClientKeyFile], string(creds.ClientKey))
	assert.Equal(t, files[ServerCertFile], string(creds.ServerCert))
}

func TestLoadOrCreateCredentials_LaterStartsReuseTheFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	before := readAll(t, dir)

	again, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	assert.Empty(t, again.Created)
	assert.Equal(t, before, readAll(t, dir))
	// A subset of the names is covered too.
	again, err = LoadOrCreateCredentials(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	assert.Empty(t, again.Created)
}

func TestLoadOrCreateCredentials_ANewAddressReissuesOnlyTheServerCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	before := readAll(t, dir)

	creds, err := LoadOrCreateCredentials(dir, append(testHosts, "192.0.2.10"))
	require.NoError(t, err)
	assert.Equal(t, []string{ServerCertFile, ServerKeyFile}, creds.Created)
	after := readAll(t, dir)
	for _, name := range []string{CACertFile, caKeyFile, ClientCertFile, ClientKeyFile} {
		assert.Equal(t, before[name], after[name], "%s is kept", name)
	}
	assert.NoError(t, parseCert(t, creds.File(ServerCertFile)).VerifyHostname("192.0.2.10"))
}

func TestLoadOrCreateCredentials_CertificatesNearTheirEndAreRenewed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	_, err := loadOrCreateCredentials(dir, testHosts, now)
	require.NoError(t, err)
	before := readAll(t, dir)

	creds, err := loadOrCreateCredentials(dir, testHosts, now.AddDate(leafYears, 0, 0).Add(-renewBefore/2))
	require.NoError(t, err)
	assert.Equal(t, []string{ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile}, creds.Created)
	assert.Equal(t, before[CACertFile], readAll(t, dir)[CACertFile], "the CA is kept")

	creds, err = loadOrCreateCredentials(dir, testHosts, now.AddDate(caYears, 0, 0).Add(-renewBefore/2))
	require.NoError(t, err)
	assert.Equal(t, credentialFiles, creds.Created, "a CA near its end is replaced with everything it signed")
}

func TestLoadOrCreateCredentials_ALostCAKeyStartsOver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	before := readAll(t, dir)
	require.NoError(t, os.Remove(filepath.Join(dir, caKeyFile)))

	creds, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	assert.Equal(t, credentialFiles, creds.Created)
	after := readAll(t, dir)
	for _, name := range credentialFiles {
		assert.NotEqual(t, before[name], after[name], name)
	}
}

func TestLoadOrCreateCredentials_RefusesAKeyOthersCanRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	key := filepath.Join(dir, ClientKeyFile)
	require.NoError(t, os.Chmod(key, 0o644))

	_, err = LoadOrCreateCredentials(dir, testHosts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), key+" can be read by others (mode 0644)")
	assert.Contains(t, err.Error(), "delete "+dir)
}

func TestLoadOrCreateCredentials_ACorruptCAIsAnErrorNotAnOverwrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	_, err := LoadOrCreateCredentials(dir, testHosts)
	require.NoError(t, err)
	ca := filepath.Join(dir, CACertFile)
	require.NoError(t, os.WriteFile(ca, []byte("not a certificate"), 0o644))

	_, err = LoadOrCreateCredentials(dir, testHosts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ca)
	raw, err := os.ReadFile(ca)
	require.NoError(t, err)
	assert.Equal(t, "not a certificate", string(raw))
}

func TestCredentials_OnlyTheCAsClientsGetThrough(t *testing.T) {
	creds, err := LoadOrCreateCredentials(filepath.Join(t.TempDir(), "tls"), testHosts)
	require.NoError(t, err)
	other, err := LoadOrCreateCredentials(filepath.Join(t.TempDir(), "tls"), testHosts)
	require.NoError(t, err)

	serverPair, err := tls.X509KeyPair(creds.ServerCert, creds.ServerKey)
	require.NoError(t, err)
	clientCAs := x509.NewCertPool()
	require.True(t, clientCAs.AppendCertsFromPEM(creds.CACert))
	serverConf := &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: clientCAs,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}

	handshake := func(c *Credentials) error {
		pair, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		require.NoError(t, err)
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		srvErr := make(chan error, 1)
		go func() {
			s := tls.Server(a, serverConf)
			err := s.Handshake()
			if err == nil {
				_, err = s.Write([]byte("ok"))
			}
			srvErr <- err
			a.Close()
		}()
		cl := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: clientCAs,
			ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		err = cl.Handshake()
		if err == nil {
			buf := make([]byte, 2)
			_, err = cl.Read(buf)
		}
		if sErr := <-srvErr; sErr != nil {
			return sErr
		}
		return err
	}
	assert.NoError(t, handshake(creds))
	assert.Error(t, handshake(other), "a certificate of another CA is refused")
}

func TestRecordAddress_KeepsEachAddressOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, recordAddress(dir, "127.0.0.1:7233"))
	require.NoError(t, recordAddress(dir, "127.0.0.1:7300"))
	require.NoError(t, recordAddress(dir, "127.0.0.1:7233"))
	raw, err := os.ReadFile(filepath.Join(dir, AddressesFile))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7233\n127.0.0.1:7300\n", string(raw))
}
