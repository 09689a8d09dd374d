package playbooks

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/identity"
)

// identityRules checks what the playbook says about people: their keys, the
// identity mode, who may start a drill, and the four-eyes rules of its gates.
func (v *validator) identityRules() {
	p := v.p
	switch p.Identity {
	case "", IdentitySigned, IdentityUnverified:
	default:
		v.at("identity", "expected signed or unverified, got %q", p.Identity)
	}
	for _, name := range sortedNames(p.Contacts) {
		for i, k := range p.Contacts[name].Keys {
			if _, err := identity.ParseAuthorizedKey(k); err != nil {
				v.at(fmt.Sprintf("contacts.%s.keys[%d]", name, i),
					"not an SSH public key: expected an authorized_keys line like \"ssh-ed25519 AAAA… alice@corp\" (cat ~/.ssh/id_ed25519.pub)")
			}
		}
	}
	for i, s := range p.Starters {
		v.contactRef(s, fmt.Sprintf("starters[%d]", i))
	}
	signed := p.IdentityMode() == IdentitySigned
	if signed && p.AllowedSigners == "" {
		for i, s := range p.Starters {
			if len(p.KeysOf(s)) == 0 {
				v.at(fmt.Sprintf("starters[%d]", i), "%q has no keys: a signed playbook checks the starter's SSH signature; add keys: to the contact", s)
			}
		}
	}
	for i, s := range p.Steps {
		a := s.Approval
		if s.Type != StepApproval || a == nil {
			continue
		}
		path := fmt.Sprintf("steps[%d]", i)
		if a.MinApprovals < 0 || a.MinApprovals > len(a.Approvers) {
			v.at(path+".minApprovals", "expected 1 to %d (the number of approvers), got %d", len(a.Approvers), a.MinApprovals)
		}
		for j, f := range a.Forbid {
			if f != "initiator" {
				v.at(fmt.Sprintf("%s.forbid[%d]", path, j), "expected initiator (the person who started the drill), got %q", f)
			}
		}
		switch a.Auto {
		case "":
		case "allowed":
			if a.OnTimeout != "approve" {
				v.at(path+".auto", "auto: allowed only matters with onTimeout: approve")
			}
		default:
			v.at(path+".auto", "expected allowed, got %q", a.Auto)
		}
		if signed && p.AllowedSigners == "" {
			for j, name := range a.Approvers {
				if _, ok := p.Contacts[name]; ok && len(p.KeysOf(name)) == 0 {
					v.at(fmt.Sprintf("%s.approvers[%d]", path, j),
						"%q has no keys: in a signed playbook (identity: signed) every approver signs the go; add keys: to the contact, or write identity: unverified", name)
				}
			}
		}
	}
}

// loadAllowedSigners reads the playbook's allowedSigners file, relative to
// the playbook, into SignerKeys.
func loadAllowedSigners(p *Playbook, playbookPath string) error {
	if p.AllowedSigners == "" {
		return nil
	}
	path := p.AllowedSigners
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(playbookPath), path)
	}
	pos := p.positions["allowedSigners"]
	data, err := os.ReadFile(path)
	if err != nil {
		return ErrorList{&Error{File: playbookPath, Line: pos.Line, Col: pos.Col, Path: "allowedSigners", Msg: fmt.Sprintf("cannot read %s: %v", path, err)}}
	}
	keys, err := identity.ParseAllowedSigners(bytes.NewReader(data))
	if err != nil {
		return ErrorList{&Error{File: playbookPath, Line: pos.Line, Col: pos.Col, Path: "allowedSigners", Msg: fmt.Sprintf("%s: %v", path, err)}}
	}
	p.SignerKeys = map[string][]string{}
	for principal, list := range keys {
		for _, k := range list {
			p.SignerKeys[principal] = append(p.SignerKeys[principal], strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
		}
	}
	return nil
}
