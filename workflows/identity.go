package workflows

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// Signatures checks the signed statements of people's decisions, purely:
// it runs inside Update validators. In a signed drill every decision must
// carry a statement signed by one of the person's keys; in an unverified
// drill a decision may come unsigned (a signed one is still checked).
type Signatures struct {
	Mode string              `json:"mode"`
	Keys map[string][]string `json:"keys,omitempty"` // person → authorized_keys lines
	// used holds the nonces of statements already accepted (no replay).
	used map[string]bool
}

// signaturesOf returns the signature rules of a playbook.
func signaturesOf(p *playbooks.Playbook) *Signatures {
	s := &Signatures{Mode: p.IdentityMode(), Keys: map[string][]string{}}
	names := map[string]bool{}
	for n := range p.Contacts {
		names[n] = true
	}
	for n := range p.SignerKeys {
		names[n] = true
	}
	for n := range names {
		if k := p.KeysOf(n); len(k) > 0 {
			s.Keys[n] = k
		}
	}
	return s
}

// signed says decisions must be signed.
func (s *Signatures) signed() bool { return s.Mode == playbooks.IdentitySigned }

// record is the identity part of the drill record.
func (s *Signatures) record() *evidence.Identity {
	return &evidence.Identity{Mode: s.Mode, Keys: s.Keys}
}

// errUnsigned says how to sign.
var errUnsigned = errors.New("this drill requires signed decisions (identity: signed): sign it with your SSH key " +
	"(drillctl signs with ~/.ssh/id_ed25519 or the ssh-agent by default; --key chooses)")

// check verifies that signed is want, signed by one of want.Signer's keys,
// and not a replay. It reports whether the decision is verified; an
// unsigned decision is refused in a signed drill unless optional is set
// (an acknowledgement through a paged channel's link).
func (s *Signatures) check(signed *identity.Signed, want identity.Statement, optional bool) (bool, error) {
	if signed == nil {
		if s.signed() && !optional {
			return false, errUnsigned
		}
		return false, nil
	}
	got := signed.Statement
	switch {
	case got.Drill != want.Drill:
		return false, fmt.Errorf("the signed statement is for drill %q, not %q", got.Drill, want.Drill)
	case got.Step != want.Step:
		return false, fmt.Errorf("the signed statement is for step %q, not %q", got.Step, want.Step)
	case got.Decision != want.Decision:
		return false, fmt.Errorf("the signed statement decides %q, not %q", got.Decision, want.Decision)
	case got.Signer != want.Signer:
		return false, fmt.Errorf("the statement is signed as %q, but the decision is made as %q", got.Signer, want.Signer)
	case got.Comment != want.Comment:
		return false, errors.New("the signed statement's comment differs from the decision's")
	case s.used[got.Nonce]:
		return false, errors.New("replayed: this signed statement was already used")
	}
	keys, err := s.publicKeys(want.Signer)
	if err != nil {
		return false, err
	}
	if len(keys) == 0 {
		if !s.signed() {
			// An unverified drill: a signature nobody can check is ignored
			// (drillctl signs with the user's default key when it finds one).
			return false, nil
		}
		return false, fmt.Errorf("%q has no keys in this playbook to check a signature with", want.Signer)
	}
	if _, err := identity.Verify(*signed, keys); err != nil {
		return false, fmt.Errorf("signature of %s: %w", want.Signer, err)
	}
	return true, nil
}

// use marks a statement's nonce as used (call it in the Update's handler,
// never in its validator).
func (s *Signatures) use(signed *identity.Signed) {
	if signed == nil {
		return
	}
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[signed.Statement.Nonce] = true
}

// publicKeys parses a person's keys.
func (s *Signatures) publicKeys(name string) ([]ssh.PublicKey, error) {
	var out []ssh.PublicKey
	for _, line := range s.Keys[name] {
		k, err := identity.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("key of %s: %w", name, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// checkStart checks who started the drill: a signed start statement by one
// of the playbook's starters in a signed drill; else the self-asserted name.
// It returns why the drill may not start, or "".
func (d *drill) checkStart() string {
	id := d.rec.Identity
	st := d.in.Start
	if st == nil {
		id.InitiatedBy = d.in.Initiator
		if d.sig.signed() {
			return "refused: " + errUnsigned.Error() + " (drill run signs the start)"
		}
		return ""
	}
	signer := st.Statement.Signer
	if starters := d.in.Playbook.Starters; len(starters) > 0 && !contains(starters, signer) {
		return fmt.Sprintf("refused: %q may not start this playbook's drills: its starters are %v", signer, starters)
	}
	verified, err := d.sig.check(st, identity.Statement{Drill: d.rec.DrillID, Decision: identity.DecisionStart,
		Signer: signer, Comment: st.Statement.Comment}, false)
	if err != nil {
		return "refused: the start: " + err.Error()
	}
	d.sig.use(st)
	id.InitiatedBy = signer
	if verified {
		id.Start = st
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sortedKeys returns a map's keys in order (workflow code never ranges
// over a map to decide anything).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkAbort records whether an abort was signed by who it says. An abort
// is honoured either way: it is a safety lever, and a refused abort would
// leave a drill running that someone wanted stopped.
func (d *drill) checkAbort(a *AbortInput) {
	verified, err := d.sig.check(a.Signed, identity.Statement{Drill: d.rec.DrillID, Decision: identity.DecisionAbort,
		Signer: a.By, Comment: a.Reason}, true)
	switch {
	case err != nil:
		a.By += " (signature not verified: " + err.Error() + ")"
	case verified:
		d.sig.use(a.Signed)
		d.rec.Identity.Abort = a.Signed
	case d.sig.signed():
		a.By += " (unsigned)"
	}
}

// checkTrust is the drill's first activity: the worker refuses a playbook it
// does not trust (see activities.CheckPlaybook). It returns why, or "".
func (d *drill) checkTrust(ctx workflow.Context) string {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 5},
	})
	err := workflow.ExecuteActivity(actx, steps.ActivityCheckPlaybook, steps.CheckPlaybookInput{
		Raw: d.in.Playbook.Source.Raw, Signature: d.in.PlaybookSignature, Playbook: d.in.Playbook}).Get(ctx, nil)
	if err != nil {
		return "refused by the worker: " + errorText(err)
	}
	return ""
}
