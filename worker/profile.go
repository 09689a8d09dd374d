package worker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/contrib/envconfig"
)

// resolved is where a Connection leads once Temporal's client
// configuration, the connection's own fields, the defaults and dev's
// certificate are applied, in that order.
type resolved struct {
	prof envconfig.ClientConfigProfile
	// looked is the folder searched for dev's certificate ("" when the
	// address or the configuration ruled it out).
	looked string
	// devCert says dev's certificate was picked up from looked.
	devCert bool
}

// plaintext reports whether the connection speaks without TLS.
func (r resolved) plaintext() bool {
	if r.prof.TLS == nil {
		return r.prof.APIKey == ""
	}
	return r.prof.TLS.Disabled
}

// resolve merges the connection: Temporal's client configuration (when
// Environment is set), then the fields set on conn, then the defaults,
// then the certificate `drillctl dev` generated.
func (conn Connection) resolve() (resolved, error) {
	if conn.TLS != nil && !*conn.TLS && (conn.TLSCert != "" || conn.TLSKey != "" || conn.TLSCA != "" ||
		conn.TLSServer != "" || conn.APIKey != "") {
		return resolved{}, errors.New("TLS: --tls=false contradicts --tls-cert, --tls-key, --tls-ca, --tls-server-name and --api-key")
	}
	var r resolved
	if conn.Environment {
		prof, err := conn.loadProfile()
		if err != nil {
			return resolved{}, err
		}
		r.prof = prof
	}
	conn.overlay(&r.prof)
	if r.prof.Address == "" {
		r.prof.Address = DefaultAddress
	}
	if r.prof.Namespace == "" {
		r.prof.Namespace = "default"
	}
	if t := r.prof.TLS; t != nil && !t.Disabled {
		hasCert := t.ClientCertPath != "" || len(t.ClientCertData) > 0
		hasKey := t.ClientKeyPath != "" || len(t.ClientKeyData) > 0
		if hasCert != hasKey {
			return resolved{}, errors.New("TLS: --tls-cert and --tls-key go together " +
				"(TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH; client_cert_path and client_key_path)")
		}
	}
	r.withDevCertificate()
	return r, nil
}

// loadProfile reads Temporal's client configuration: the profile of the
// TOML file, then the TEMPORAL_* environment variables over it.
func (conn Connection) loadProfile() (envconfig.ClientConfigProfile, error) {
	env := lookupEnv{lookup: conn.LookupEnv}
	file := conn.ConfigFile
	if file == "" {
		file, _ = env.LookupEnv("TEMPORAL_CONFIG_FILE")
	}
	if file != "" {
		// envconfig takes a missing file for an empty one; a file someone
		// named must be there.
		if _, err := os.Stat(file); err != nil {
			return envconfig.ClientConfigProfile{}, fmt.Errorf("Temporal client configuration: %w", err)
		}
	}
	profile := conn.Profile
	if profile == "" {
		profile, _ = env.LookupEnv("TEMPORAL_PROFILE")
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{
		ConfigFilePath:    file,
		ConfigFileProfile: profile,
		EnvLookup:         env,
	})
	if err != nil {
		where := file
		if where == "" {
			where = envconfig.DefaultConfigFilePath()
		}
		return envconfig.ClientConfigProfile{}, fmt.Errorf("Temporal client configuration %s: %w", where, err)
	}
	return prof, nil
}

// overlay sets on p what the connection says: its fields win over the
// client configuration.
func (conn Connection) overlay(p *envconfig.ClientConfigProfile) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Address, conn.Address)
	set(&p.Namespace, conn.Namespace)
	set(&p.APIKey, conn.APIKey)
	anyTLS := conn.TLSCert != "" || conn.TLSKey != "" || conn.TLSCA != "" || conn.TLSServer != ""
	if !anyTLS && conn.TLS == nil {
		return
	}
	if p.TLS == nil {
		p.TLS = &envconfig.ClientConfigTLS{}
	}
	t := p.TLS
	if conn.TLSCert != "" {
		t.ClientCertPath, t.ClientCertData = conn.TLSCert, nil
	}
	if conn.TLSKey != "" {
		t.ClientKeyPath, t.ClientKeyData = conn.TLSKey, nil
	}
	if conn.TLSCA != "" {
		t.ServerCACertPath, t.ServerCACertData = conn.TLSCA, nil
	}
	set(&t.ServerName, conn.TLSServer)
	switch {
	case conn.TLS != nil:
		t.Disabled = !*conn.TLS
	case anyTLS: // a TLS option given here turns TLS on
		t.Disabled = false
	}
}

// withDevCertificate fills in the client certificate `drillctl dev`
// generated when nothing was said about TLS (here or in the client
// configuration) and the address is a loopback one dev served with it.
// Anything explicit wins; a server elsewhere never gets it.
//
// Once dev served an address with TLS, a plaintext server there is not
// trusted without --tls=false: it may be someone else's, on this machine,
// waiting for a worker to hand commands to.
func (r *resolved) withDevCertificate() {
	if r.prof.TLS != nil || r.prof.APIKey != "" || !loopbackAddress(r.prof.Address) {
		return
	}
	dir, err := DevTLSDir()
	if err != nil {
		return
	}
	r.looked = dir
	if !devServed(dir, r.prof.Address) {
		return
	}
	files := []string{filepath.Join(dir, devCertFile), filepath.Join(dir, devKeyFile), filepath.Join(dir, devCAFile)}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return
		}
	}
	r.prof.TLS = &envconfig.ClientConfigTLS{ClientCertPath: files[0], ClientKeyPath: files[1], ServerCACertPath: files[2]}
	r.devCert = true
}

// lookupEnv is the environment envconfig reads: the process's unless
// lookup is given, with an empty variable taken as unset (so
// TEMPORAL_ADDRESS= does not blank a profile's address).
type lookupEnv struct {
	lookup func(string) (string, bool)
}

var _ envconfig.EnvLookup = lookupEnv{}

// LookupEnv returns a variable's value, when it is set and not empty.
func (e lookupEnv) LookupEnv(name string) (string, bool) {
	lookup := e.lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(name)
	return v, ok && v != ""
}

// Environ lists the environment, for TEMPORAL_GRPC_META_* headers: the
// process's, or none when lookup is given (it cannot list).
func (e lookupEnv) Environ() []string {
	if e.lookup != nil {
		return nil
	}
	return os.Environ()
}
