package devserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// prepareDBFile creates the SQLite file, empty and 0600, before SQLite opens
// it, and its folder (0700) when missing. SQLite creates the -wal and -shm
// files with the database file's mode, so they are private too; a database
// SQLite created itself would be world-readable (0644 less the umask), and
// it holds every drill's history: inputs, people, systems. An existing file
// keeps its mode: it is the owner's choice.
//
// fresh says the file holds no database yet (new, or left empty by a first
// start that stopped before its schema was set up).
func prepareDBFile(path string) (fresh bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("devserver: create the database folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err := f.Close(); err != nil {
			return false, fmt.Errorf("devserver: create the database file: %w", err)
		}
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("devserver: create the database file: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("devserver: %w", err)
	}
	if info.Size() > 0 {
		return false, nil
	}
	// An empty file with a write-ahead log is a database whose pages are
	// all still in the log.
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return false, nil
	}
	return true, nil
}
