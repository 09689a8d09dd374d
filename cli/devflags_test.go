package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInternalPorts(t *testing.T) {
	for in, want := range map[string]int{"": 0, "7234-7237": 7234, "7234": 7234, " 9000 - 9003 ": 9000} {
		got, err := parseInternalPorts(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"7234-7240", "7237-7234", "x", "0-3", "65534-65537", "7234-"} {
		_, err := parseInternalPorts(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "expected 4 consecutive ports", in)
	}
}

func TestDev_RefusesPlaintextBeyondLoopbackBeforeStartingAnything(t *testing.T) {
	for _, ip := range []string{"0.0.0.0", "192.0.2.10", "::"} {
		code, _, errOut := run(t, "dev", "--ip", ip, "--insecure", "--ui-port", "-1", "--ack-addr", "")
		assert.Equal(t, ExitUsage, code, ip)
		assert.Contains(t, errOut, "refusing --ip "+ip+" with --insecure", ip)
		assert.Contains(t, errOut, "mutual TLS is the default", ip)
	}
	code, _, errOut := run(t, "dev", "--internal-ports", "7234-7299", "--ui-port", "-1", "--ack-addr", "")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `--internal-ports "7234-7299"`)
}

func TestConnection_TLSFalseWithACertificateIsAUsageError(t *testing.T) {
	code, _, errOut := run(t, "drill", "list", "--tls=false", "--tls-ca", "ca.pem")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--tls=false contradicts")
}
