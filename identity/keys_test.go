package identity

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func authorizedLine(t *testing.T, pub ssh.PublicKey) string {
	t.Helper()
	return strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
}

func TestParseAuthorizedKey(t *testing.T) {
	pub := goSigner(t, "ed25519").PublicKey()
	line := authorizedLine(t, pub)
	cases := []struct {
		name, in, want string
	}{
		{"bare", line, ""},
		{"with comment and spaces", "  " + line + " alice@laptop  \n", ""},
		{"empty", "   ", "empty"},
		{"garbage", "ssh-ed25519 not-base64!", "not an SSH public key"},
		{"two keys", line + "\n" + line, "one key per line"},
		{"options", `restrict ` + line, "options are not allowed"},
		{"private key pasted", "-----BEGIN OPENSSH PRIVATE KEY-----", "private key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAuthorizedKey(c.in)
			if c.want == "" {
				require.NoError(t, err)
				assert.Equal(t, pub.Marshal(), got.Marshal())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestParseAllowedSigners_ReadsGitAndOpenSSHFiles(t *testing.T) {
	a, b, c := goSigner(t, "ed25519").PublicKey(), goSigner(t, "ecdsa").PublicKey(), goSigner(t, "ed25519").PublicKey()
	file := "# drillctl contacts\n" +
		"\n" +
		"alice " + authorizedLine(t, a) + " alice@laptop\n" +
		"   # indented comment\n" +
		`bob,"alice martin" namespaces="git,drillctl" ` + authorizedLine(t, b) + "\n" +
		`carol namespaces="git" ` + authorizedLine(t, c) + "\n" +
		`dave NAMESPACES="drill*" ` + authorizedLine(t, c) + "\r\n" +
		`erin namespaces="*,!drillctl" ` + authorizedLine(t, c) + "\n" +
		"alice\t" + authorizedLine(t, b) + "\n"
	got, err := ParseAllowedSigners(strings.NewReader(file))
	require.NoError(t, err)

	marshal := func(keys []ssh.PublicKey) []string {
		var out []string
		for _, k := range keys {
			out = append(out, ssh.FingerprintSHA256(k))
		}
		return out
	}
	fp := ssh.FingerprintSHA256
	assert.Equal(t, []string{fp(a), fp(b)}, marshal(got["alice"]))
	assert.Equal(t, []string{fp(b)}, marshal(got["bob"]))
	assert.Equal(t, []string{fp(b)}, marshal(got["alice martin"]))
	assert.Equal(t, []string{fp(c)}, marshal(got["dave"]))
	assert.NotContains(t, got, "carol", "key limited to git signatures")
	assert.NotContains(t, got, "erin", "key limited to everything but drillctl")
}

func TestParseAllowedSigners_ErrorsNameTheLine(t *testing.T) {
	key := authorizedLine(t, goSigner(t, "ed25519").PublicKey())
	cases := []struct{ name, line, want string }{
		{"no key", "alice", "line 2: missing key after principals"},
		{"bad key", "alice ssh-ed25519 AAAA", "line 2: not an SSH public key"},
		{"unknown option", "alice foo=bar " + key, `line 2: unsupported option "foo=bar"`},
		{"cert authority", "alice cert-authority " + key, "line 2: cert-authority"},
		{"valid-before", `alice valid-before="20300101" ` + key, "line 2: valid-before"},
		{"unterminated quote", `"alice ` + key, "line 2: unterminated quote"},
		{"empty principal", `"" ` + key, "line 2: empty principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAllowedSigners(strings.NewReader("# header\n" + c.line + "\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestAllowedSignersLine_QuotesNamesAndRefusesPatterns(t *testing.T) {
	pub := goSigner(t, "ed25519").PublicKey()
	line, err := AllowedSignersLine("alice martin", pub)
	require.NoError(t, err)
	assert.Equal(t, `"alice martin" namespaces="drillctl" `+authorizedLine(t, pub), line)

	back, err := ParseAllowedSigners(strings.NewReader(line))
	require.NoError(t, err)
	require.Len(t, back["alice martin"], 1)

	for _, bad := range []string{"", "*", "al?ce", "!bob", "a,b", `say "hi"`, "line\nbreak", "#alice"} {
		_, err := AllowedSignersLine(bad, pub)
		assert.Error(t, err, "%q", bad)
	}
}
