package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeStoreFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func TestCheckFiles_FindsWhatTheRecordsNameButTheStoreLacks(t *testing.T) {
	primary, standby := t.TempDir(), t.TempDir()
	budget := writeStoreFile(t, primary, "attachments/budget.xlsx", "q3 numbers")
	writeStoreFile(t, standby, "attachments/budget.xlsx", "q3 numbers")
	roadmap := writeStoreFile(t, primary, "attachments/roadmap.pdf", "the plan")
	writeStoreFile(t, standby, "attachments/roadmap.pdf", "the pl") // copied half
	writeStoreFile(t, primary, "attachments/minutes.txt", "we met")
	writeStoreFile(t, standby, "attachments/minutes.txt", "we met")
	writeStoreFile(t, primary, "attachments/notes.txt", "primary's")
	writeStoreFile(t, standby, "attachments/notes.txt", "standby's")
	writeStoreFile(t, standby, "attachments/orphan.txt", "nobody names me")

	refs := []FileRef{
		{Path: "attachments/budget.xlsx", SHA256: budget},
		{Path: "attachments/roadmap.pdf", SHA256: roadmap},
		{Path: "attachments/contract.pdf", SHA256: budget}, // never copied
		{Path: "attachments/minutes.txt"},                  // no checksum: the primary's copy decides
		{Path: "attachments/notes.txt"},
		{Path: "../../etc/passwd"},
	}
	r, err := CheckFiles(refs, standby, primary)
	require.NoError(t, err)
	assert.Equal(t, 6, r.Checked)
	assert.Equal(t, []string{"attachments/contract.pdf"}, r.Missing)
	assert.Equal(t, []string{"attachments/roadmap.pdf", "attachments/notes.txt"}, r.Different)
	assert.Equal(t, []string{"../../etc/passwd"}, r.Invalid, "a path out of the store is never read")
	assert.Zero(t, r.Unverified)
	assert.Equal(t, 4, r.Drift())

	r, err = CheckFiles([]FileRef{{Path: "attachments/minutes.txt"}}, standby, "")
	require.NoError(t, err)
	assert.Equal(t, 1, r.Unverified, "no checksum and no primary store: present, unverified")
	assert.Zero(t, r.Drift())
}
