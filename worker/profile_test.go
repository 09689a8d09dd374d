package worker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envOf is a fixed environment; with no TEMPORAL_CONFIG_FILE it names an
// empty one, so the user's own temporal.toml is never read.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		if !ok && k == "TEMPORAL_CONFIG_FILE" {
			return os.DevNull, true
		}
		return v, ok
	}
}

// certFiles writes a certificate, key and CA and returns their paths.
func certFiles(t *testing.T) (cert, key, ca string) {
	dir := t.TempDir()
	writeDevCertificate(t, dir)
	return filepath.Join(dir, devCertFile), filepath.Join(dir, devKeyFile), filepath.Join(dir, devCAFile)
}

func TestConnection_AProfileFileReachesTheConnectionOptions(t *testing.T) {
	t.Setenv(StateDirEnv, t.TempDir())
	cert, key, ca := certFiles(t)
	file := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(file, []byte(`
[profile.default]
address = "127.0.0.1:7233"

[profile.dr]
address = "temporal.dr.internal:7233"
namespace = "drills"

[profile.dr.tls]
client_cert_path = "`+cert+`"
client_key_path = "`+key+`"
server_ca_cert_path = "`+ca+`"
server_name = "frontend.dr.internal"

[profile.dr.grpc_meta]
x-team = "dr"
`), 0o600))

	opts, err := Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "dr"})}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "temporal.dr.internal:7233", opts.HostPort)
	assert.Equal(t, "drills", opts.Namespace)
	conf := opts.ConnectionOptions.TLS
	require.NotNil(t, conf)
	assert.Len(t, conf.Certificates, 1, "the profile's client certificate")
	assert.NotNil(t, conf.RootCAs, "the profile's CA")
	assert.Equal(t, "frontend.dr.internal", conf.ServerName)
	require.NotNil(t, opts.HeadersProvider)
	headers, err := opts.HeadersProvider.GetHeaders(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "dr", headers["x-team"])

	// --profile and --config-file name them without the environment.
	opts, err = Connection{Environment: true, ConfigFile: file, Profile: "dr", LookupEnv: envOf(nil)}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "drills", opts.Namespace)

	// The fields set on the connection (the flags) win over the profile.
	opts, err = Connection{Environment: true, ConfigFile: file, Profile: "dr", Namespace: "flag-ns",
		TLSServer: "other.internal", LookupEnv: envOf(nil)}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "temporal.dr.internal:7233", opts.HostPort)
	assert.Equal(t, "flag-ns", opts.Namespace)
	assert.Equal(t, "other.internal", opts.ConnectionOptions.TLS.ServerName)
	assert.Len(t, opts.ConnectionOptions.TLS.Certificates, 1, "the rest of the profile's TLS stays")

	// A profile or file that is named must exist.
	_, err = Connection{Environment: true, ConfigFile: file, Profile: "nope", LookupEnv: envOf(nil)}.ClientOptions()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unable to find profile nope")
	_, err = Connection{Environment: true, ConfigFile: file + ".missing", LookupEnv: envOf(nil)}.ClientOptions()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "temporal.toml.missing")
}

func TestConnection_TemporalsEnvironmentVariablesReachTheConnectionOptions(t *testing.T) {
	t.Setenv(StateDirEnv, t.TempDir())
	cert, key, ca := certFiles(t)
	env := map[string]string{
		"TEMPORAL_ADDRESS":                 "temporal.internal:7233",
		"TEMPORAL_NAMESPACE":               "dr",
		"TEMPORAL_TLS_CLIENT_CERT_PATH":    cert,
		"TEMPORAL_TLS_CLIENT_KEY_PATH":     key,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca,
		"TEMPORAL_TLS_SERVER_NAME":         "frontend.internal",
		"TEMPORAL_CONFIG_FILE":             filepath.Join(t.TempDir(), "none.toml"),
	}
	require.NoError(t, os.WriteFile(env["TEMPORAL_CONFIG_FILE"], nil, 0o600))
	opts, err := Connection{Environment: true, LookupEnv: envOf(env)}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "temporal.internal:7233", opts.HostPort)
	assert.Equal(t, "dr", opts.Namespace)
	conf := opts.ConnectionOptions.TLS
	require.NotNil(t, conf, "TLS, not plaintext")
	assert.Len(t, conf.Certificates, 1)
	assert.NotNil(t, conf.RootCAs)
	assert.Equal(t, "frontend.internal", conf.ServerName)

	// Not read unless asked: dev's own connection ignores the environment.
	opts, err = Connection{LookupEnv: envOf(env)}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, DefaultAddress, opts.HostPort)
	assert.Nil(t, opts.ConnectionOptions.TLS)

	// TEMPORAL_TLS=false, TEMPORAL_API_KEY, and an empty variable.
	opts, err = Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_ADDRESS": "127.0.0.1:7233", "TEMPORAL_TLS": "false"})}.ClientOptions()
	require.NoError(t, err)
	assert.True(t, opts.ConnectionOptions.TLSDisabled)
	opts, err = Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233", "TEMPORAL_API_KEY": "secret"})}.ClientOptions()
	require.NoError(t, err)
	assert.NotNil(t, opts.Credentials)
	assert.NotNil(t, opts.ConnectionOptions.TLS, "an API key implies TLS")
	opts, err = Connection{Environment: true, LookupEnv: envOf(map[string]string{"TEMPORAL_ADDRESS": ""})}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, DefaultAddress, opts.HostPort, "an empty variable is unset")

	// The process environment by default.
	t.Setenv("TEMPORAL_CONFIG_FILE", env["TEMPORAL_CONFIG_FILE"])
	t.Setenv("TEMPORAL_PROFILE", "")
	t.Setenv("TEMPORAL_ADDRESS", "from-the-process:7233")
	opts, err = Connection{Environment: true}.ClientOptions()
	require.NoError(t, err)
	assert.Equal(t, "from-the-process:7233", opts.HostPort)
}

func TestConnection_AProfileThatSaysTLSKeepsTheDevCertificateOut(t *testing.T) {
	state := t.TempDir()
	t.Setenv(StateDirEnv, state)
	dir := filepath.Join(state, "tls")
	writeDevCertificate(t, dir)
	recordServed(t, dir, DefaultAddress)
	none := filepath.Join(t.TempDir(), "temporal.toml")
	require.NoError(t, os.WriteFile(none, nil, 0o600))

	// Nothing said anywhere: dev's certificate, as before.
	r, err := Connection{Environment: true, LookupEnv: envOf(map[string]string{"TEMPORAL_CONFIG_FILE": none})}.resolve()
	require.NoError(t, err)
	assert.True(t, r.devCert)
	// TEMPORAL_TLS=false said it: plaintext, no certificate.
	r, err = Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_TLS": "false"})}.resolve()
	require.NoError(t, err)
	assert.False(t, r.devCert)
	assert.True(t, r.plaintext())
	// A CA of its own: TLS without dev's client certificate.
	_, _, ca := certFiles(t)
	r, err = Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ca})}.resolve()
	require.NoError(t, err)
	assert.False(t, r.devCert)
	assert.Equal(t, ca, r.prof.TLS.ServerCACertPath)
}

func TestConnection_ACertificateWithoutItsKeyIsRefused(t *testing.T) {
	t.Setenv(StateDirEnv, t.TempDir())
	_, err := Connection{Environment: true, LookupEnv: envOf(map[string]string{
		"TEMPORAL_TLS_CLIENT_CERT_PATH": "client.pem"})}.ClientOptions()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--tls-cert and --tls-key go together")
}
