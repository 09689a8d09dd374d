package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/steps"
)

// CheckPlaybook refuses a drill whose playbook this worker does not trust:
// unsigned, signed by a key that is not one of the worker's trusted signers
// (--trust), changed since it was signed, or not the playbook its bytes
// parse to. A worker with no trusted signers (--trust any) runs any
// playbook.
func (a *Activities) CheckPlaybook(ctx context.Context, in steps.CheckPlaybookInput) error {
	if a.Trust == nil {
		return nil
	}
	refuse := func(format string, args ...any) error {
		return temporal.NewNonRetryableApplicationError(
			"this worker runs only playbooks signed by a key it trusts (--trust): "+fmt.Sprintf(format, args...), "PlaybookNotTrusted", nil)
	}
	if in.Signature == "" {
		return refuse("%s is not signed (drillctl playbook sign FILE writes FILE.sig)", in.Playbook.Metadata.Name)
	}
	fp, err := identity.VerifyFile(in.Raw, in.Signature, identity.PlaybookNamespace, a.Trust)
	if err != nil {
		return refuse("%s: %v", in.Playbook.Metadata.Name, err)
	}
	sum := sha256.Sum256(in.Raw)
	if digest := "sha256:" + hex.EncodeToString(sum[:]); digest != in.Playbook.Source.Digest {
		return refuse("the playbook's digest %s is not that of the signed bytes (%s)", in.Playbook.Source.Digest, digest)
	}
	parsed, err := playbooks.Parse(in.Playbook.Source.Path, in.Raw)
	if err != nil {
		return refuse("the signed bytes are not a valid playbook: %v", err)
	}
	if len(in.Playbook.SignerKeys) > 0 {
		return refuse("its allowedSigners file is not covered by the playbook's signature: declare the people's keys in the playbook itself")
	}
	if !samePlaybook(parsed, &in.Playbook) {
		return refuse("the drill's playbook differs from the signed file (signed by %s)", fp)
	}
	return nil
}

// samePlaybook compares what a drill runs, ignoring where it was loaded from.
func samePlaybook(a, b *playbooks.Playbook) bool {
	strip := func(p *playbooks.Playbook) []byte {
		c := *p
		c.Source = playbooks.Source{}
		c.SignerKeys = nil
		out, _ := json.Marshal(c)
		return out
	}
	return string(strip(a)) == string(strip(b))
}
