package evidence

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/identity"
)

func TestStatements_ReChecksEverySignedDecision(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	signed, err := identity.Sign(identity.Statement{Drill: "drill-x", Step: "go-no-go", Decision: identity.DecisionApprove,
		At: time.Now(), Nonce: identity.NewNonce(), Signer: "alice"}, signer)
	require.NoError(t, err)
	rec := &Record{
		Identity:  &Identity{Mode: "signed", Keys: map[string][]string{"alice": {strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))}}},
		Approvals: []Approval{{Step: "go-no-go", By: "alice", Approved: true, Signed: &signed, Verified: true}},
	}
	n, problems := Statements(rec)
	assert.Equal(t, 1, n)
	assert.Empty(t, problems)

	forged := signed
	forged.Statement.Comment = "I never said this"
	rec.Approvals = append(rec.Approvals, Approval{Step: "go-no-go", By: "alice", Signed: &forged, Verified: true})
	n, problems = Statements(rec)
	assert.Equal(t, 1, n)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "approval of go-no-go: alice's signed statement does not verify")
}
