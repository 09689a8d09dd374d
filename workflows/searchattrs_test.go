package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/worker/searchattrs"
)

// A drill started with drillctl's search attributes keeps its status and
// verdict current in them; one started without them upserts nothing (the
// namespace may not have them: an upsert would fail every workflow task).
func TestDrill_KeepsItsSearchAttributesCurrentOnlyWhenItHasThem(t *testing.T) {
	for _, started := range []bool{true, false} {
		env := newEnv(t)
		env.OnActivity("RunHTTP", mock.Anything, mock.Anything).Return(okResult(nil), nil)
		var upserted []temporal.SearchAttributes
		env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
			upserted = append(upserted, args.Get(0).(temporal.SearchAttributes))
		}).Return(nil).Maybe()
		if started {
			require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
				searchattrs.Playbook.ValueSet("test"), searchattrs.Status.ValueSet("running"))))
		}
		in := input([]playbooks.Step{httpStep("failover")})
		in.Playbook.Targets = playbooks.Targets{}
		env.ExecuteWorkflow(Drill, in)
		_, err := drillOutcome(t, env)
		require.NoError(t, err)
		if !started {
			assert.Empty(t, upserted, "no search attributes at start: none upserted")
			continue
		}
		require.NotEmpty(t, upserted)
		last := upserted[len(upserted)-1]
		status, _ := last.GetKeyword(searchattrs.Status)
		verdict, _ := last.GetKeyword(searchattrs.Verdict)
		assert.Equal(t, "completed", status)
		assert.Equal(t, "met", verdict)
	}
}
