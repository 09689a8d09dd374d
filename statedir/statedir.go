// Package statedir says where drillctl keeps its state on a machine: the
// embedded server's database, its generated CA and certificates, the key
// of ack links. The server (devserver) and its clients (worker, cli) must
// agree on it, and the clients may not import the server: so it is a leaf.
package statedir

import (
	"fmt"
	"os"
	"path/filepath"
)

// Env names the environment variable that moves the state directory away
// from the user's: tests and a second dev server on one account use it.
const Env = "DRILLCTL_STATE_DIR"

// Dir is drillctl's state directory: $DRILLCTL_STATE_DIR when set, else
// drillctl under the user's state directory ($XDG_STATE_HOME, or
// ~/.local/state).
func Dir() (string, error) {
	if dir := os.Getenv(Env); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("find the state directory: %s=%s: %w", Env, dir, err)
		}
		return abs, nil
	}
	dir := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(dir) { // the XDG spec says to ignore a relative path
		dir = ""
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "drillctl"), nil
}
