package devserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files of a TLS folder (DefaultTLSDir). Certificates are 0644, keys
// 0600, the folder 0700 when dev creates it.
const (
	CACertFile     = "ca.pem"         // the CA clients and the server trust
	caKeyFile      = "ca-key.pem"     // signs the two certificates; never leaves the folder
	ServerCertFile = "server.pem"     // the frontend's and the internal nodes' certificate
	ServerKeyFile  = "server-key.pem" // its key
	ClientCertFile = "client.pem"     // what the CLI, workers and the Web UI present
	ClientKeyFile  = "client-key.pem" // its key
	// AddressesFile lists, one a line, the frontend addresses a server
	// protected with this CA has served: clients on this machine use the
	// client certificate for those only, so a plaintext server elsewhere
	// (`drillctl demo`, tests) is not offered TLS it cannot speak.
	AddressesFile = "addresses"
)

// credentialFiles lists every file of a TLS folder, in the order Created
// reports them.
var credentialFiles = []string{CACertFile, caKeyFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile}

const (
	// caYears is the CA's lifetime; leaves are reissued well within it.
	caYears = 10
	// leafYears is the server and client certificates' lifetime (under the
	// 825 days browsers and macOS still accept).
	leafYears = 2
	// renewBefore is how close to its end a certificate is replaced on start.
	renewBefore = 30 * 24 * time.Hour
)

// Credentials are the PEM-encoded CA and certificates of a dev server's
// mutual TLS, as kept in Dir.
type Credentials struct {
	// Dir is the folder the files live in.
	Dir string
	// CACert is the CA certificate (CACertFile).
	CACert []byte
	// ServerCert and ServerKey are the server's certificate and key.
	ServerCert, ServerKey []byte
	// ClientCert and ClientKey are the client certificate and key.
	ClientCert, ClientKey []byte
	// Created names the files this start wrote (none when all were reused).
	Created []string
}

// File is the path of one of the files (CACertFile, ClientCertFile, …).
func (c *Credentials) File(name string) string { return filepath.Join(c.Dir, name) }

// LoadOrCreateCredentials returns the CA and certificates kept in dir,
// making what is missing: on first start an ECDSA P-256 CA valid ten years,
// a server certificate for hosts (names and IP addresses) and a client
// certificate, both signed by the CA. Later starts reuse them; a
// certificate that does not cover hosts, is not signed by the CA or is near
// its end is reissued. A key file others can read is an error: it may have
// leaked, and only a new CA makes its certificate worthless.
func LoadOrCreateCredentials(dir string, hosts []string) (*Credentials, error) {
	return loadOrCreateCredentials(dir, hosts, time.Now())
}

func loadOrCreateCredentials(dir string, hosts []string, now time.Time) (*Credentials, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devserver: create the TLS folder: %w", err)
	}
	for _, name := range []string{caKeyFile, ServerKeyFile, ClientKeyFile} {
		if err := checkPrivate(dir, name); err != nil {
			return nil, err
		}
	}
	creds := &Credentials{Dir: dir}
	ca, err := readPair(dir, CACertFile, caKeyFile)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w (delete %s to make a new CA)", err, dir)
	}
	if ca != nil && (!ca.cert.IsCA || ca.cert.NotAfter.Sub(now) < renewBefore) {
		ca = nil
	}
	newCA := ca == nil
	if newCA {
		if ca, err = issue(now, caYears, nil, caTemplate()); err != nil {
			return nil, err
		}
		if err := creds.write(ca, CACertFile, caKeyFile); err != nil {
			return nil, err
		}
	}
	creds.CACert = ca.certPEM

	leaves := []struct {
		certFile, keyFile string
		template          *x509.Certificate
		out, outKey       *[]byte
	}{
		{ServerCertFile, ServerKeyFile, serverTemplate(hosts), &creds.ServerCert, &creds.ServerKey},
		{ClientCertFile, ClientKeyFile, clientTemplate(), &creds.ClientCert, &creds.ClientKey},
	}
	for _, leaf := range leaves {
		pair, err := readPair(dir, leaf.certFile, leaf.keyFile)
		if err != nil || newCA || !pair.good(ca.cert, leaf.template, now) {
			// A leaf is only derived from the CA: remake it rather than fail.
			if pair, err = issue(now, leafYears, ca, leaf.template); err != nil {
				return nil, err
			}
			if err := creds.write(pair, leaf.certFile, leaf.keyFile); err != nil {
				return nil, err
			}
		}
		*leaf.out, *leaf.outKey = pair.certPEM, pair.keyPEM
	}
	return creds, nil
}

// recordAddress adds addr to the folder's AddressesFile, keeping what is
// there.
func recordAddress(dir, addr string) error {
	raw, err := os.ReadFile(filepath.Join(dir, AddressesFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("devserver: %w", err)
	}
	lines := strings.Fields(string(raw))
	if slices.Contains(lines, addr) {
		return nil
	}
	lines = append(lines, addr)
	return writeFileAtomic(dir, AddressesFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// keyPair is a certificate, its key and their PEM forms.
type keyPair struct {
	cert            *x509.Certificate
	key             crypto.Signer
	certPEM, keyPEM []byte
}

// good reports whether the pair can still serve as template says: signed
// by ca, not near its end, with the template's usages and names.
func (p *keyPair) good(ca *x509.Certificate, template *x509.Certificate, now time.Time) bool {
	if p == nil || p.cert.CheckSignatureFrom(ca) != nil ||
		now.Before(p.cert.NotBefore) || p.cert.NotAfter.Sub(now) < renewBefore {
		return false
	}
	for _, usage := range template.ExtKeyUsage {
		if !slices.Contains(p.cert.ExtKeyUsage, usage) {
			return false
		}
	}
	for _, name := range template.DNSNames {
		if p.cert.VerifyHostname(name) != nil {
			return false
		}
	}
	for _, ip := range template.IPAddresses {
		if p.cert.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	return true
}

// readPair reads a certificate and its key; a missing file is no pair and
// no error.
func readPair(dir, certFile, keyFile string) (*keyPair, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, certFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, keyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s and %s: %w", filepath.Join(dir, certFile), keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, certFile), err)
		}
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: the key cannot sign", filepath.Join(dir, keyFile))
	}
	return &keyPair{cert: pair.Leaf, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// checkPrivate refuses a key file that others than its owner can read.
func checkPrivate(dir, name string) error {
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devserver: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("devserver: %s can be read by others (mode %04o): anyone who copied it can connect; "+
			"delete %s to make a new CA and certificates (clients on this machine pick them up), "+
			"or chmod 600 it if no one could have", path, perm, dir)
	}
	return nil
}

// write stores a pair in the folder: the certificate 0644, the key 0600.
func (c *Credentials) write(p *keyPair, certFile, keyFile string) error {
	if err := writeFileAtomic(c.Dir, keyFile, p.keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(c.Dir, certFile, p.certPEM, 0o644); err != nil {
		return err
	}
	c.Created = append(c.Created, certFile, keyFile)
	return nil
}

// writeFileAtomic writes name in dir through a private temporary file
// renamed into place, so a reader never sees half a key and a key is never
// readable by others, not even for a moment.
func writeFileAtomic(dir, name string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("devserver: write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing to remove
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		return fmt.Errorf("devserver: write %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

func caTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: "drillctl dev CA", Organization: []string{"drillctl"}},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
}

// serverTemplate is the certificate of the frontend and of the internal
// nodes, which present it to each other as clients too.
func serverTemplate(hosts []string) *x509.Certificate {
	t := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "drillctl dev server", Organization: []string{"drillctl"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t
}

func clientTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "drillctl dev client", Organization: []string{"drillctl"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// issue makes a key and a certificate from template, valid from an hour
// ago (clock skew) for years, signed by ca (self-signed when nil).
func issue(now time.Time, years int, ca *keyPair, template *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devserver: generate a key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("devserver: serial number: %w", err)
	}
	t := *template
	t.SerialNumber = serial
	t.NotBefore = now.Add(-time.Hour)
	t.NotAfter = now.AddDate(years, 0, 0)
	parent, signer := &t, crypto.Signer(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("devserver: sign %q: %w", t.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devserver: encode a key: %w", err)
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}
