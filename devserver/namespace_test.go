package devserver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/drillctl/drillctl/worker/searchattrs"
)

func TestStart_RegistersTheSearchAttributesAndSetsTheRetention(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.db")
	srv := start(t, Config{DBFile: file, UIPort: -1, Retention: 72 * time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dial(t, srv)

	st, err := searchattrs.Check(ctx, c.OperatorService(), srv.Namespace())
	require.NoError(t, err)
	assert.Equal(t, searchattrs.Names(), st.Present)
	assert.Empty(t, st.Missing)
	got, err := srv.Retention(ctx)
	require.NoError(t, err)
	assert.Equal(t, 72*time.Hour, got)

	// Usable at once: a drill started right after dev came up is found by them.
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "drill-sa", TaskQueue: "nobody",
		TypedSearchAttributes: temporal.NewSearchAttributes(searchattrs.Playbook.ValueSet("chat"),
			searchattrs.Status.ValueSet("running"))}, "Drill")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: srv.Namespace(), Query: "DrillPlaybook = 'chat' AND DrillStatus = 'running'"})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 10*time.Second, 50*time.Millisecond)

	// A restart without --retention leaves it; registering again adds nothing.
	require.NoError(t, srv.Stop())
	again := start(t, Config{DBFile: file, UIPort: -1})
	got, err = again.Retention(ctx)
	require.NoError(t, err)
	assert.Equal(t, 72*time.Hour, got)
	added, err := searchattrs.Register(ctx, dial(t, again).OperatorService(), again.Namespace())
	require.NoError(t, err)
	assert.Empty(t, added)
}

func TestStart_RefusesARetentionBelowTheServersMinimum(t *testing.T) {
	_, err := Start(context.Background(), Config{DBFile: MemoryDB, UIPort: -1, Retention: 10 * time.Minute})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retention 10m0s is less than the server allows for a namespace (1h0m0s)")
}
