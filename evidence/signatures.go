package evidence

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/drillctl/drillctl/identity"
)

// Statements re-checks every signed statement of people's decisions in a
// record (start, approvals, acknowledgements, decisions, abort) against the
// keys the record says each person could sign with. It returns one problem
// per statement that does not verify, and how many did.
func Statements(rec *Record) (verified int, problems []string) {
	if rec.Identity == nil {
		return 0, nil
	}
	keys := map[string][]ssh.PublicKey{}
	for name, lines := range rec.Identity.Keys {
		for _, l := range lines {
			if k, err := identity.ParseAuthorizedKey(l); err == nil {
				keys[name] = append(keys[name], k)
			}
		}
	}
	check := func(what string, s *identity.Signed) {
		if s == nil {
			return
		}
		if _, err := identity.Verify(*s, keys[s.Statement.Signer]); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s's signed statement does not verify: %v", what, s.Statement.Signer, err))
			return
		}
		verified++
	}
	check("start", rec.Identity.Start)
	check("abort", rec.Identity.Abort)
	for _, a := range rec.Approvals {
		check("approval of "+a.Step, a.Signed)
	}
	for _, a := range rec.Acks {
		check("acknowledgement of "+a.Step, a.Signed)
	}
	for _, d := range rec.Decisions {
		check("decision on "+d.Step, d.Signed)
	}
	return verified, problems
}

// checkStatements adds the problems of a bundle's signed statements.
func (r *VerifyResult) checkStatements(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, FileRecord))
	if err != nil {
		return // a missing or unreadable record is reported by the manifest check
	}
	var rec Record
	if json.Unmarshal(b, &rec) != nil {
		return
	}
	n, problems := Statements(&rec)
	r.Statements = n
	for _, p := range problems {
		r.problem("%s: %s", FileRecord, p)
	}
}
