package cli

import (
	"bytes"
	"fmt"
	"os"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker"
)

// playbookSignCommand is `playbook sign`: a detached SSH signature beside a
// playbook, which workers started with --trust check before running it.
func playbookSignCommand(stdio IO) *ucli.Command {
	return &ucli.Command{
		Name:      "sign",
		Usage:     "sign a playbook with your SSH key (writes FILE.sig), for workers that run only trusted playbooks",
		ArgsUsage: "FILE",
		Description: `The playbook must validate. The signature is OpenSSH's format, namespace
drillctl-playbook, over the file's exact bytes: "drill run FILE" sends FILE.sig
with the drill, and a worker started with --trust ALLOWED_SIGNERS refuses a
drill whose playbook is unsigned, signed by another key, or changed by one
byte since. Anyone can check it without drillctl:
   ssh-keygen -Y verify -f allowed_signers -I NAME -n drillctl-playbook -s FILE.sig < FILE

Examples:
   drillctl playbook sign playbooks/examples/chat-platform-quarterly.yaml
   drillctl playbook sign quarterly.yaml --key ~/.ssh/dr_ed25519 --output json`,
		Flags: []ucli.Flag{keyFlag(), outputFlag()},
		Action: func(c *ucli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			path, err := oneArg(c, "FILE")
			if err != nil {
				return err
			}
			if _, err := playbooks.Load(path); err != nil {
				return exitf(ExitUsage, "%s is not a valid playbook:\n%v", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return exitf(ExitUsage, "playbook sign: %v", err)
			}
			signer, from, err := identity.LoadSigner(c.String("key"))
			if err != nil {
				return exitf(ExitUsage, "playbook sign: no key to sign with: %v (pass --key FILE)", err)
			}
			sig, fp, err := identity.SignFile(data, identity.PlaybookNamespace, signer)
			if err != nil {
				return exitf(ExitUsage, "playbook sign: %v", err)
			}
			if err := os.WriteFile(path+".sig", []byte(sig), 0o644); err != nil {
				return exitf(ExitUsage, "playbook sign: %v", err)
			}
			if format == "json" {
				return writeJSON(stdio.Out, map[string]string{"playbook": path, "signature": path + ".sig", "fingerprint": fp, "key": from})
			}
			fmt.Fprintf(stdio.Out, "signed %s with %s (%s): %s.sig\n", path, fp, from, path)
			return nil
		},
	}
}

// trustFlag names the signers whose playbooks a worker runs.
func trustFlag(def string) ucli.Flag {
	return &ucli.StringFlag{Name: "trust", Value: def, EnvVars: []string{"DRILLCTL_TRUST"},
		Usage: "run only playbooks signed (drillctl playbook sign) by a key of this allowed_signers `FILE`; \"any\" runs every playbook"}
}

// applyTrust sets the worker's trusted playbook signers from --trust.
func applyTrust(c *ucli.Context, acts *worker.Settings) (string, error) {
	switch v := c.String("trust"); v {
	case "":
		return "", exitf(ExitUsage, "a worker runs playbooks that pull real failovers: say whose playbooks it trusts, "+
			"--trust ALLOWED_SIGNERS (keys whose \"drillctl playbook sign\" it accepts) or --trust any")
	case "any":
		acts.Trust = nil
		return "any playbook (--trust any)", nil
	default:
		data, err := os.ReadFile(v)
		if err != nil {
			return "", exitf(ExitUsage, "--trust: %v", err)
		}
		signers, err := identity.ParseAllowedSigners(bytes.NewReader(data))
		if err != nil {
			return "", exitf(ExitUsage, "--trust %s: %v", v, err)
		}
		var keys []ssh.PublicKey
		for _, list := range signers {
			keys = append(keys, list...)
		}
		if len(keys) == 0 {
			return "", exitf(ExitUsage, "--trust %s: no keys in it", v)
		}
		acts.Trust = keys
		return fmt.Sprintf("playbooks signed by the %d keys of %s", len(keys), v), nil
	}
}

// playbookSignature is the detached signature beside a playbook file, if any.
func playbookSignature(path string) (string, error) {
	b, err := os.ReadFile(path + ".sig")
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", exitf(ExitUsage, "read %s.sig: %v", path, err)
	}
	return string(b), nil
}
