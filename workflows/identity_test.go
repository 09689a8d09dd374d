package workflows

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/evidence"
	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
)

// person is a contact with an SSH key.
type person struct {
	name   string
	signer ssh.Signer
}

func newPerson(t *testing.T, name string) person {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return person{name: name, signer: s}
}

func (p person) key() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p.signer.PublicKey())))
}

// sign signs a decision as p, with key (p's own unless another is given).
func (p person) sign(t *testing.T, drill, step, decision, comment string, key ...ssh.Signer) *identity.Signed {
	signer := p.signer
	if len(key) > 0 {
		signer = key[0]
	}
	s, err := identity.Sign(identity.Statement{Drill: drill, Step: step, Decision: decision, Comment: comment,
		At: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), Nonce: identity.NewNonce(), Signer: p.name}, signer)
	require.NoError(t, err)
	return &s
}

// signedInput is a signed drill whose gate needs two of alice, bob and
// carol, and may not be approved by whoever started it.
func signedInput(people ...person) DrillInput {
	in := input([]playbooks.Step{approvalStep("go-no-go"), httpStep("failover", "go-no-go")})
	in.Playbook.Targets = playbooks.Targets{}
	in.Playbook.Contacts = map[string]playbooks.Contact{}
	gate := &in.Playbook.Steps[0]
	gate.Approval.Approvers = nil
	for _, p := range people {
		in.Playbook.Contacts[p.name] = playbooks.Contact{Name: p.name, Keys: []string{p.key()}}
		gate.Approval.Approvers = append(gate.Approval.Approvers, p.name)
	}
	gate.Approval.MinApprovals = 2
	gate.Approval.Forbid = []string{"initiator"}
	return in
}

type outcome struct{ err error }

func (o *outcome) cb() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{OnReject: func(err error) { o.err = err }, OnAccept: func() {}, OnComplete: func(any, error) {}}
}

func TestDrill_SignedApprovalsNeedTheirOwnKeysDistinctPeopleAndNoReplay(t *testing.T) {
	alice, bob, carol := newPerson(t, "alice"), newPerson(t, "bob"), newPerson(t, "carol")
	in := signedInput(alice, bob, carol)
	in.Start = carol.sign(t, in.DrillID, "", identity.DecisionStart, "")
	env := newEnv(t)
	env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
	var unsigned, wrongKey, initiator, replay outcome
	aliceGo := ApproveInput{Step: "go-no-go", By: "alice", Signed: alice.sign(t, in.DrillID, "go-no-go", identity.DecisionApprove, "")}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u1", unsigned.cb(), ApproveInput{Step: "go-no-go", By: "alice"})
		env.UpdateWorkflow(UpdateApprove, "u2", wrongKey.cb(), ApproveInput{Step: "go-no-go", By: "alice",
			Signed: alice.sign(t, in.DrillID, "go-no-go", identity.DecisionApprove, "", bob.signer)})
		env.UpdateWorkflow(UpdateApprove, "u3", initiator.cb(), ApproveInput{Step: "go-no-go", By: "carol",
			Signed: carol.sign(t, in.DrillID, "go-no-go", identity.DecisionApprove, "")})
		env.UpdateWorkflow(UpdateApprove, "u4", (&outcome{}).cb(), aliceGo)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateApprove, "u5", replay.cb(), aliceGo)
		env.UpdateWorkflow(UpdateApprove, "u6", (&outcome{}).cb(), ApproveInput{Step: "go-no-go", By: "bob",
			Signed: bob.sign(t, in.DrillID, "go-no-go", identity.DecisionApprove, "")})
	}, 2*time.Minute)
	env.ExecuteWorkflow(Drill, in)

	rec, err := drillOutcome(t, env)
	require.NoError(t, err)
	require.Error(t, unsigned.err)
	assert.Contains(t, unsigned.err.Error(), "requires signed decisions")
	require.Error(t, wrongKey.err)
	assert.Contains(t, wrongKey.err.Error(), "signature of alice")
	require.Error(t, initiator.err)
	assert.Contains(t, initiator.err.Error(), "four eyes")
	require.Error(t, replay.err, "the same signed go, sent again, is refused")
	assert.Equal(t, "carol", rec.Identity.InitiatedBy)
	require.NotNil(t, rec.Identity.Start)
	require.Len(t, rec.Approvals, 2)
	for _, a := range rec.Approvals {
		assert.True(t, a.Verified, a.By)
		require.NotNil(t, a.Signed)
		_, err := identity.Verify(*a.Signed, mustKeys(t, rec.Identity.Keys[a.By]))
		assert.NoError(t, err, "the evidence keeps a statement anyone can re-check")
	}
	assert.Equal(t, evidence.StepSucceeded, stepRec(t, rec, "failover").Status)
}

func TestDrill_ASignedPlaybookRefusesAnUnsignedStartOrAStranger(t *testing.T) {
	alice, bob, mallory := newPerson(t, "alice"), newPerson(t, "bob"), newPerson(t, "mallory")
	for name, start := range map[string]func(in *DrillInput){
		"unsigned":       func(in *DrillInput) { in.Initiator = "alice" },
		"not a starter":  func(in *DrillInput) { in.Start = mallory.sign(t, in.DrillID, "", identity.DecisionStart, "") },
		"someone else's": func(in *DrillInput) { in.Start = alice.sign(t, in.DrillID, "", identity.DecisionStart, "", bob.signer) },
	} {
		t.Run(name, func(t *testing.T) {
			in := signedInput(alice, bob)
			in.Playbook.Starters = []string{"alice"}
			start(&in)
			env := newEnv(t)
			env.ExecuteWorkflow(Drill, in)
			rec, err := drillOutcome(t, env)
			require.Error(t, err)
			assert.Contains(t, rec.Reason, "refused")
			assert.Equal(t, evidence.StepSkipped, stepRec(t, rec, "failover").Status)
		})
	}
}

func mustKeys(t *testing.T, lines []string) []ssh.PublicKey {
	var out []ssh.PublicKey
	for _, l := range lines {
		k, err := identity.ParseAuthorizedKey(l)
		require.NoError(t, err)
		out = append(out, k)
	}
	return out
}
