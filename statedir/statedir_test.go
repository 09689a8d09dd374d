package statedir

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDir_EnvThenXDGThenHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(Env, "")
	t.Setenv("XDG_STATE_HOME", "relative/ignored")
	got, err := Dir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(home, ".local", "state", "drillctl"), got, "a relative XDG_STATE_HOME is ignored")

	xdg := t.TempDir()
	t.Setenv("XDG_STATE_HOME", xdg)
	got, err = Dir()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(xdg, "drillctl"), got)

	own := t.TempDir()
	t.Setenv(Env, own)
	got, err = Dir()
	require.NoError(t, err)
	assert.Equal(t, own, got, "DRILLCTL_STATE_DIR wins")
}
