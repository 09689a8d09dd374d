package cli

import (
	"os/user"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/drillctl/drillctl/identity"
)

// keyFlag chooses the SSH key a person signs decisions with.
func keyFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "key", EnvVars: []string{"DRILLCTL_KEY"},
		Usage: "SSH private key `FILE` (or the .pub of an ssh-agent key) to sign the decision with (default: the ssh-agent, then ~/.ssh/id_ed25519)"}
}

// sign signs a statement of a decision with the person's SSH key, in
// OpenSSH's signature format (namespace drillctl). With no --key and no key
// to be found it returns nil: the decision goes unsigned, which a drill of
// a signed playbook refuses (saying so).
func sign(c *ucli.Context, stmt identity.Statement) (*identity.Signed, error) {
	signer, _, err := identity.LoadSigner(c.String("key"))
	if err != nil {
		if c.IsSet("key") {
			return nil, exitf(ExitUsage, "--key: %v", err)
		}
		return nil, nil
	}
	stmt.At = time.Now().UTC()
	stmt.Nonce = identity.NewNonce()
	s, err := identity.Sign(stmt, signer)
	if err != nil {
		return nil, exitf(ExitUsage, "sign the %s: %v", stmt.Decision, err)
	}
	return &s, nil
}

// whoAmI is --as, or the login name.
func whoAmI(c *ucli.Context) string {
	if as := c.String("as"); as != "" {
		return as
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// verifiedNote says, for people, whether a decision's signature was checked.
func verifiedNote(verified bool, s *identity.Signed) string {
	switch {
	case verified:
		return "signature verified: " + s.Fingerprint
	case s != nil:
		return "signed, not verified: the playbook declares no key for this person"
	default:
		return "not verified: unsigned"
	}
}
