package identity

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ParseAuthorizedKey parses one public key in authorized_keys form,
// "keytype base64 [comment]", as contacts declare it. Options and
// certificates are refused: a contact key is a plain key.
func ParseAuthorizedKey(line string) (ssh.PublicKey, error) {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return nil, errors.New("public key: empty (expected \"ssh-ed25519 AAAA... [comment]\")")
	case strings.HasPrefix(line, "-----BEGIN"):
		return nil, errors.New("public key: this is a private key; give the public key (the .pub file's line)")
	case strings.ContainsAny(line, "\r\n"):
		return nil, errors.New("public key: one key per line, found a line break")
	}
	pub, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("public key %q: not an SSH public key: %w", abbreviate(line), err)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf("public key %q: options are not allowed in a contact key (%s)", abbreviate(line), strings.Join(options, ","))
	}
	if _, isCert := pub.(*ssh.Certificate); isCert {
		return nil, fmt.Errorf("public key %q: certificates are not supported, give the plain key", abbreviate(line))
	}
	return pub, nil
}

// abbreviate shortens a key line for error messages.
func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// ParseAllowedSigners reads an allowed_signers file as git and
// `ssh-keygen -Y verify -f` read it: one "principals [options] keytype base64
// [comment]" per line, principals comma-separated and optionally in double
// quotes, '#' comments and blank lines ignored. It returns each principal's
// keys in file order. Principals are returned as written; patterns such as
// "*@example.com" are not expanded.
//
// A key whose namespaces="…" option excludes "drillctl" is left out, as
// ssh-keygen would refuse it. The options cert-authority, valid-after and
// valid-before are refused with an error rather than ignored: drillctl
// verifies no certificates and, without a clock, no validity windows, and
// must not accept what ssh-keygen would refuse. Errors name the line.
func ParseAllowedSigners(r io.Reader) (map[string][]ssh.PublicKey, error) {
	signers := map[string][]ssh.PublicKey{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		principals, pub, ok, err := parseAllowedSignersLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if !ok {
			continue
		}
		for _, p := range principals {
			signers[p] = append(signers[p], pub)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read allowed signers: %w", err)
	}
	return signers, nil
}

// parseAllowedSignersLine parses one non-comment line; ok is false when the
// key may not sign in the drillctl namespace.
func parseAllowedSignersLine(line string) (principals []string, pub ssh.PublicKey, ok bool, err error) {
	// Split off the principals as OpenSSH's strdelimw does: up to the first
	// blank, or from a double quote to the next one, the quote removed, so
	// `bob,"alice martin"` names bob and alice martin.
	var field, rest string
	i := strings.IndexAny(line, " \t\"")
	switch {
	case i < 0:
		field = line
	case line[i] == '"':
		end := strings.IndexByte(line[i+1:], '"')
		if end < 0 {
			return nil, nil, false, errors.New("unterminated quote in principals")
		}
		field, rest = line[:i]+line[i+1:i+1+end], line[i+1+end+1:]
	default:
		field, rest = line[:i], line[i:]
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil, nil, false, errors.New("missing key after principals (expected \"principals [options] keytype base64\")")
	}
	for _, p := range strings.Split(field, ",") {
		if p == "" {
			return nil, nil, false, fmt.Errorf("empty principal in %q", field)
		}
		principals = append(principals, p)
	}

	pub, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return nil, nil, false, fmt.Errorf("not an SSH public key after principals %q: %w", field, err)
	}
	if _, isCert := pub.(*ssh.Certificate); isCert {
		return nil, nil, false, errors.New("certificates are not supported, list the plain key")
	}
	ok = true
	for _, opt := range options {
		name, value, _ := strings.Cut(opt, "=")
		switch strings.ToLower(name) {
		case "namespaces":
			if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
				return nil, nil, false, fmt.Errorf("option %q: expected namespaces=\"…\"", opt)
			}
			ok = ok && matchPatternList(Namespace, value[1:len(value)-1])
		case "cert-authority":
			return nil, nil, false, errors.New("cert-authority keys are not supported by drillctl: list each person's own key")
		case "valid-after", "valid-before":
			return nil, nil, false, fmt.Errorf("%s is not supported: drillctl verifies without a clock, so remove the option or the key", strings.ToLower(name))
		default:
			return nil, nil, false, fmt.Errorf("unsupported option %q", opt)
		}
	}
	return principals, pub, ok, nil
}

// matchPatternList reports whether s matches the comma-separated OpenSSH
// pattern list: '*' and '?' wildcards, a leading '!' negates and wins.
func matchPatternList(s, list string) bool {
	matched := false
	for _, p := range strings.Split(list, ",") {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if matchPattern(s, p) {
			if negated {
				return false
			}
			matched = true
		}
	}
	return matched
}

// matchPattern matches s against a glob of '*' and '?'.
func matchPattern(s, p string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], p[1:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
	return s == ""
}

// AllowedSignersLine returns the allowed_signers line that lets principal
// sign drillctl statements with key:
//
//	alice namespaces="drillctl" ssh-ed25519 AAAA...
//
// A principal with spaces is quoted. Names ssh-keygen would read as patterns
// or lists (with * ? , or a leading !), or could not read back (with quotes,
// controls, a leading #), are refused.
func AllowedSignersLine(principal string, key ssh.PublicKey) (string, error) {
	if key == nil {
		return "", fmt.Errorf("allowed signer %q: no key", principal)
	}
	if _, isCert := key.(*ssh.Certificate); isCert {
		return "", fmt.Errorf("allowed signer %q: certificates are not supported, give the plain key", principal)
	}
	switch {
	case principal == "" || strings.TrimSpace(principal) != principal:
		return "", fmt.Errorf("allowed signer %q: name is empty or has leading or trailing spaces", principal)
	case strings.ContainsAny(principal, `*?,"`) || principal[0] == '!' || principal[0] == '#':
		return "", fmt.Errorf("allowed signer %q: ssh-keygen would read * ? , \" or a leading ! or # as syntax", principal)
	case strings.ContainsFunc(principal, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("allowed signer %q: name has control characters", principal)
	}
	if strings.ContainsAny(principal, " \t") {
		principal = `"` + principal + `"`
	}
	keyLine := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(key)), "\n")
	return principal + ` namespaces="` + Namespace + `" ` + keyLine, nil
}
