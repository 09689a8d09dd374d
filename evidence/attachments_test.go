package evidence

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAttachments_CoveredByTheManifestAndVerified(t *testing.T) {
	store := &Store{Dir: filepath.Join(t.TempDir(), "evidence")}
	pub, priv := newKey(t)
	big := bytes.Repeat([]byte(`{"rows":"xxxxxxxx"}`), 5000)
	ref1, err := store.PutAttachment("drill-chat-att", "failover-attempt1-output.json", big)
	require.NoError(t, err)
	assert.Equal(t, "attachments/failover-attempt1-output.json", ref1)
	ref2, err := store.PutAttachment("drill-chat-att", "restored-attempt2-output.json", []byte(`{"ok":true}`))
	require.NoError(t, err)
	assert.Equal(t, "attachments/restored-attempt2-output.json", ref2)

	// Staged attachments are not a bundle.
	list, err := store.List()
	require.NoError(t, err)
	assert.Empty(t, list)
	assertPrivate(t, store.Dir)

	ref, err := store.Write(sampleRecord("drill-chat-att", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(ref.Path, filepath.FromSlash(ref1)))
	require.NoError(t, err)
	assert.Equal(t, big, got)
	res, err := Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assertPrivate(t, store.Dir)

	// The staging area is gone, and the store lists one bundle.
	entries, err := os.ReadDir(store.Dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotEqual(t, stagingDir, e.Name(), "staging area removed")
	}
	list, err = store.List()
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "drill-chat-att", list[0].DrillID)

	t.Run("changed", func(t *testing.T) {
		path := filepath.Join(ref.Path, filepath.FromSlash(ref2))
		require.NoError(t, os.WriteFile(path, []byte(`{"ok":false}`), 0o600))
		t.Cleanup(func() { require.NoError(t, os.WriteFile(path, []byte(`{"ok":true}`), 0o600)) })
		res, err := Verify(ref.Path, pub)
		require.NoError(t, err)
		assert.False(t, res.OK)
		assert.Equal(t, []string{ref2}, res.Changed)
		assert.Contains(t, strings.Join(res.Problems, "\n"), "attachments/restored-attempt2-output.json: changed")
	})
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(ref.Path, filepath.FromSlash(ref1))
		require.NoError(t, os.Rename(path, path+".moved"))
		t.Cleanup(func() { require.NoError(t, os.Rename(path+".moved", path)) })
		res, err := Verify(ref.Path, pub)
		require.NoError(t, err)
		assert.False(t, res.OK)
		assert.Equal(t, []string{ref1}, res.Missing)
		assert.Equal(t, []string{ref1 + ".moved"}, res.Extra)
	})
	t.Run("extra", func(t *testing.T) {
		path := filepath.Join(ref.Path, "attachments", "later.txt")
		require.NoError(t, os.WriteFile(path, []byte("added later"), 0o600))
		t.Cleanup(func() { require.NoError(t, os.Remove(path)) })
		res, err := Verify(ref.Path, pub)
		require.NoError(t, err)
		assert.False(t, res.OK)
		assert.Equal(t, []string{"attachments/later.txt"}, res.Extra)
	})
	res, err = Verify(ref.Path, pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
}

func TestAttachments_RefuseUnsafeNames(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	for _, name := range []string{
		"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "a b", "a\x00b", "ü.json", "x/../../y",
		strings.Repeat("a", maxAttachmentName+1),
	} {
		_, err := store.PutAttachment("drill-chat-1", name, []byte("x"))
		assert.Error(t, err, "%q", name)
	}
	for _, id := range []string{"", "..", "../x", "a/b", ".tmp-x"} {
		_, err := store.PutAttachment(id, "ok.json", []byte("x"))
		assert.Error(t, err, "drill id %q", id)
	}
	ref, err := store.PutAttachment("drill-chat-1", "Step_1-attempt.2-output.json", []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, "attachments/Step_1-attempt.2-output.json", ref)
}

func TestAttachments_SurviveAFailedWriteAndARetryAfterSuccess(t *testing.T) {
	store := &Store{Dir: t.TempDir(), crashAfter: 2}
	_, err := store.PutAttachment("drill-chat-r", "out.json", []byte(`{"n":1}`))
	require.NoError(t, err)
	_, err = store.Write(sampleRecord("drill-chat-r", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.Error(t, err)

	// The retry still has the attachment.
	store.crashAfter = 0
	ref, err := store.Write(sampleRecord("drill-chat-r", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(ref.Path, "attachments", "out.json"))
	require.NoError(t, err)

	// Writing the bundle again (an activity retried after it succeeded)
	// keeps the attachments the first write moved into the bundle.
	ref, err = store.Write(sampleRecord("drill-chat-r", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(ref.Path, "attachments", "out.json"))
	require.NoError(t, err)
	assert.Equal(t, `{"n":1}`, string(b))
	res, err := Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
}
