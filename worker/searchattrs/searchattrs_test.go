package searchattrs

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/grpc"
)

// fakeOperator is a namespace's search attributes.
type fakeOperator struct {
	custom map[string]enumspb.IndexedValueType
	added  []map[string]enumspb.IndexedValueType
	err    error
}

func (f *fakeOperator) ListSearchAttributes(context.Context, *operatorservice.ListSearchAttributesRequest, ...grpc.CallOption) (*operatorservice.ListSearchAttributesResponse, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &operatorservice.ListSearchAttributesResponse{CustomAttributes: f.custom,
		SystemAttributes: map[string]enumspb.IndexedValueType{"WorkflowId": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}, nil
}

func (f *fakeOperator) AddSearchAttributes(_ context.Context, in *operatorservice.AddSearchAttributesRequest, _ ...grpc.CallOption) (*operatorservice.AddSearchAttributesResponse, error) {
	f.added = append(f.added, in.GetSearchAttributes())
	for k, v := range in.GetSearchAttributes() {
		f.custom[k] = v
	}
	return &operatorservice.AddSearchAttributesResponse{}, nil
}

func TestRegister_AddsWhatIsMissingOnce(t *testing.T) {
	op := &fakeOperator{custom: map[string]enumspb.IndexedValueType{"DrillPlaybook": enumspb.INDEXED_VALUE_TYPE_KEYWORD}}
	added, err := Register(context.Background(), op, "drills")
	require.NoError(t, err)
	assert.Equal(t, []string{"DrillInitiator", "DrillSchedule", "DrillStatus", "DrillVerdict"}, added)
	require.Len(t, op.added, 1, "one request")
	assert.Len(t, op.added[0], 4)
	for _, typ := range op.added[0] {
		assert.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD, typ)
	}
	added, err = Register(context.Background(), op, "drills")
	require.NoError(t, err)
	assert.Empty(t, added, "nothing left to add")
	assert.Len(t, op.added, 1)
}

func TestRegister_AnAttributeOfAnotherTypeIsAnError(t *testing.T) {
	op := &fakeOperator{custom: map[string]enumspb.IndexedValueType{"DrillStatus": enumspb.INDEXED_VALUE_TYPE_TEXT}}
	_, err := Register(context.Background(), op, "drills")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "namespace drills: DrillStatus is Text, where drillctl needs Keyword")
	assert.Empty(t, op.added, "nothing registered")

	op.err = errors.New("unavailable")
	_, err = Check(context.Background(), op, "drills")
	assert.ErrorContains(t, err, "list the search attributes of namespace drills: unavailable")
}

func TestCloudCommand(t *testing.T) {
	assert.Equal(t, `tcld namespace search-attributes add --namespace ns.acct \
    --search-attribute DrillInitiator=Keyword \
    --search-attribute DrillPlaybook=Keyword \
    --search-attribute DrillSchedule=Keyword \
    --search-attribute DrillStatus=Keyword \
    --search-attribute DrillVerdict=Keyword`, CloudCommand("ns.acct"))
	assert.Len(t, Definitions(), 5)
}
