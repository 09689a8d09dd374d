package worker

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/drillctl/drillctl/activities"
)

func TestParseDedupKey_ReadsWhatPageDedupKeyMakes(t *testing.T) {
	drill, step, level, ok := ParseDedupKey(activities.PageDedupKey("drill-chat-q-6f1c", "page-admins", 2))
	assert.True(t, ok)
	assert.Equal(t, "drill-chat-q-6f1c", drill)
	assert.Equal(t, "page-admins", step)
	assert.Equal(t, 2, level)
	for _, key := range []string{"", "someone-elses-incident", "a/b/level-x", "a/b/level-0", "/b/level-1"} {
		_, _, _, ok := ParseDedupKey(key)
		assert.False(t, ok, key)
	}
}
