package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/identity"
	"github.com/drillctl/drillctl/playbooks"
	"github.com/drillctl/drillctl/workflows"
)

func TestStartOptions_SetTheIDQueueMemoSearchAttributesAndSummary(t *testing.T) {
	rto := playbooks.Duration(4 * time.Hour)
	in := workflows.DrillInput{DrillID: "drill-chat-1", Schedule: "chat-quarterly", Initiator: "carol",
		Playbook: playbooks.Playbook{Metadata: playbooks.Metadata{Name: "chat", Owner: "dr@example.com"},
			Targets: playbooks.Targets{RTO: &rto}, Source: playbooks.Source{Digest: "sha256:ab"}}}
	opts := StartOptions(in)
	assert.Equal(t, "drill-chat-1", opts.ID)
	assert.Equal(t, workflows.TaskQueue, opts.TaskQueue)
	assert.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, opts.WorkflowIDReusePolicy)
	assert.Equal(t, map[string]any{"playbook": "chat", "digest": "sha256:ab", "schedule": "chat-quarterly"}, opts.Memo)
	for _, tc := range []struct {
		key  temporal.SearchAttributeKeyKeyword
		want string
	}{{SearchPlaybook, "chat"}, {SearchStatus, "running"}, {SearchSchedule, "chat-quarterly"}, {SearchInitiator, "carol"}} {
		got, ok := opts.TypedSearchAttributes.GetKeyword(tc.key)
		assert.True(t, ok, tc.key.GetName())
		assert.Equal(t, tc.want, got, tc.key.GetName())
	}
	_, ok := opts.TypedSearchAttributes.GetKeyword(SearchVerdict)
	assert.False(t, ok, "no verdict before the drill ends")
	assert.Equal(t, "Drill of chat (schedule chat-quarterly), started by carol", opts.StaticSummary)
	assert.Contains(t, opts.StaticDetails, "**Playbook** `chat` (sha256:ab), owner dr@example.com")
	assert.Contains(t, opts.StaticDetails, "**Targets** RTO ≤ 4h0m0s")
	assert.Contains(t, opts.StaticDetails, "drillctl drill watch drill-chat-1")

	// A dry run by hand, started by a signed statement: no schedule, the signer.
	in = workflows.DrillInput{DrillID: "drill-chat-2", DryRun: true, Playbook: in.Playbook,
		Start: &identity.Signed{Statement: identity.Statement{Signer: "alice"}}}
	opts = StartOptions(in)
	assert.Equal(t, "Dry run of chat, started by alice", opts.StaticSummary)
	_, ok = opts.TypedSearchAttributes.GetKeyword(SearchSchedule)
	assert.False(t, ok)
	who, _ := opts.TypedSearchAttributes.GetKeyword(SearchInitiator)
	assert.Equal(t, "alice", who)
	assert.NotContains(t, opts.Memo, "schedule")
}

func TestExplainStartError_NamesSetupAndTheCloudCommand(t *testing.T) {
	refused := serviceerror.NewInvalidArgument("search attribute DrillPlaybook is not defined")
	err := ExplainStartError(refused, "drills")
	require.Error(t, err)
	assert.True(t, errors.Is(err, refused), "the server's error is kept")
	assert.Contains(t, err.Error(), "drillctl setup --namespace drills")
	assert.Contains(t, err.Error(), "tcld namespace search-attributes add --namespace drills --search-attribute DrillInitiator=Keyword")

	other := serviceerror.NewInvalidArgument("workflow id too long")
	assert.Same(t, error(other), ExplainStartError(other, "drills"))
	assert.NoError(t, ExplainStartError(nil, "drills"))
}
