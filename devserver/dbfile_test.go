package devserver

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrepareDBFile_CreatesAPrivateFileInAPrivateFolder(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	db := filepath.Join(state, "drillctl", "temporal.db")
	fresh, err := prepareDBFile(db)
	require.NoError(t, err)
	assert.True(t, fresh)
	for path, want := range map[string]fs.FileMode{state: 0o700, filepath.Dir(db): 0o700, db: 0o600} {
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, want, info.Mode().Perm(), path)
	}

	// Still empty (a first start stopped before the schema): set it up.
	fresh, err = prepareDBFile(db)
	require.NoError(t, err)
	assert.True(t, fresh)

	// An empty file whose pages are in the write-ahead log is a database.
	require.NoError(t, os.WriteFile(db+"-wal", []byte("pages"), 0o600))
	fresh, err = prepareDBFile(db)
	require.NoError(t, err)
	assert.False(t, fresh)
	require.NoError(t, os.Remove(db+"-wal"))

	require.NoError(t, os.WriteFile(db, []byte("SQLite format 3\x00"), 0o600))
	fresh, err = prepareDBFile(db)
	require.NoError(t, err)
	assert.False(t, fresh)
}

func TestPrepareDBFile_LeavesAnExistingFileAndFolderAsTheyAre(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o750))
	db := filepath.Join(dir, "temporal.db")
	require.NoError(t, os.WriteFile(db, []byte("SQLite format 3\x00"), 0o640))
	require.NoError(t, os.Chmod(db, 0o640))
	fresh, err := prepareDBFile(db)
	require.NoError(t, err)
	assert.False(t, fresh)
	info, err := os.Stat(db)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o640), info.Mode().Perm())
	info, err = os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o750), info.Mode().Perm())
}
