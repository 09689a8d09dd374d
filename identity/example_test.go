package identity_test

import (
	"fmt"
	"time"

	"github.com/drillctl/drillctl/identity"
)

// An auditor checks a decision kept in the evidence with stock OpenSSH: the
// statement's canonical bytes are the message, the armored signature is the
// .sig file, and allowed_signers lists the contacts' keys.
func ExampleSigned_VerifyCommand() {
	signed := identity.Signed{Statement: identity.Statement{
		Drill:    "dr-2026-q4",
		Step:     "failover-db",
		Decision: identity.DecisionApprove,
		At:       time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		Nonce:    "JX4C3OQ2GZ6LW5B7MNSPVKTQAE",
		Signer:   "alice martin",
	}}
	fmt.Println(signed.VerifyCommand("allowed_signers", "decisions/003-approve.sig", "decisions/003-approve.statement"))
	fmt.Print(string(signed.Statement.Canonical()))
	// Output:
	// ssh-keygen -Y verify -f allowed_signers -I 'alice martin' -n drillctl -s decisions/003-approve.sig < decisions/003-approve.statement
	// drillctl-statement-v1
	// drill=dr-2026-q4
	// step=failover-db
	// decision=approve
	// signer=alice martin
	// at=2026-11-23T09:00:00Z
	// nonce=JX4C3OQ2GZ6LW5B7MNSPVKTQAE
	// comment=
}
