package cli

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/drillctl/drillctl/evidence"
)

// writeBundles keeps one signed bundle per id, each with an attachment, in a
// new store and returns the store and the public key file.
func writeBundles(t *testing.T, ids ...string) (store *evidence.Store, pubFile string) {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys")
	code, _, errOut := run(t, "evidence", "keygen", "--out", keys)
	require.Equal(t, ExitOK, code, errOut)
	priv, err := evidence.LoadPrivateKey(filepath.Join(keys, evidence.PrivateKeyFile))
	require.NoError(t, err)
	store = &evidence.Store{Dir: filepath.Join(t.TempDir(), "evidence")}
	for _, id := range ids {
		_, err := store.PutAttachment(id, "step-attempt1-output.json", []byte(`{"rows":[]}`))
		require.NoError(t, err)
		rec := evidence.Record{SchemaVersion: evidence.SchemaVersion, DrillID: id, Playbook: evidence.PlaybookRef{Name: "chat"},
			StartedAt: time.Now().UTC(), Status: evidence.StatusCompleted, Verdict: evidence.VerdictMet}
		_, err = store.Write(rec, []byte("apiVersion: drillctl/v1\n"), priv, evidence.RenderOptions{})
		require.NoError(t, err)
	}
	return store, filepath.Join(keys, evidence.PublicKeyFile)
}

// verifyOutput is the JSON `evidence verify --output json` prints.
type verifyOutput struct {
	OK       bool     `json:"ok"`
	Bundle   string   `json:"bundle"`
	DrillID  string   `json:"drillId"`
	Problems []string `json:"problems"`
}

func verifyJSON(t *testing.T, args ...string) (int, verifyOutput) {
	t.Helper()
	code, out, errOut := run(t, append([]string{"evidence", "verify", "--output", "json"}, args...)...)
	var v verifyOutput
	require.NoError(t, json.Unmarshal([]byte(out), &v), "stdout %q, stderr %q", out, errOut)
	return code, v
}

func TestEvidenceVerify_ABundlePathOrADrillID(t *testing.T) {
	store, pub := writeBundles(t, "drill-chat-1")
	bundle := store.Path("drill-chat-1")

	code, out, errOut := run(t, "evidence", "verify", bundle, "--pubkey", pub)
	assert.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, "signature valid")
	assert.Contains(t, out, "ok: "+bundle+" is intact")

	code, v := verifyJSON(t, "drill-chat-1", "--evidence-dir", store.Dir, "--pubkey", pub)
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, verifyOutput{OK: true, Bundle: bundle, DrillID: "drill-chat-1", Problems: []string{}}, v)

	code, _, errOut = run(t, "evidence", "verify", "drill-never-ran", "--evidence-dir", store.Dir)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, `no bundle at drill-never-ran, nor a bundle of drill "drill-never-ran" in `+store.Dir)
}

func TestEvidenceVerify_FailedVerificationExits5(t *testing.T) {
	store, pub := writeBundles(t, "drill-chat-a", "drill-chat-b")

	// A changed file is named.
	playbook := filepath.Join(store.Path("drill-chat-a"), evidence.FilePlaybook)
	require.NoError(t, os.WriteFile(playbook, []byte("apiVersion: drillctl/v2\n"), 0o600))
	code, v := verifyJSON(t, store.Path("drill-chat-a"), "--pubkey", pub)
	assert.Equal(t, ExitNotVerified, code)
	assert.False(t, v.OK)
	assert.Equal(t, "drill-chat-a", v.DrillID)
	assert.Equal(t, []string{"playbook.yaml: changed: its SHA-256 does not match manifest.json"}, v.Problems)
	code, out, errOut := run(t, "evidence", "verify", store.Path("drill-chat-a"), "--pubkey", pub)
	assert.Equal(t, ExitNotVerified, code)
	assert.Contains(t, out, "FAIL  playbook.yaml: changed")
	assert.Contains(t, errOut, "does not verify")

	// Drill B's bundle in drill A's folder does not pass for drill A.
	require.NoError(t, os.RemoveAll(store.Path("drill-chat-a")))
	require.NoError(t, os.Rename(store.Path("drill-chat-b"), store.Path("drill-chat-a")))
	code, v = verifyJSON(t, "drill-chat-a", "--evidence-dir", store.Dir, "--pubkey", pub)
	assert.Equal(t, ExitNotVerified, code)
	assert.Equal(t, []string{`drill id: the bundle's folder is named "drill-chat-a", but drill.json says "drill-chat-b" (manifest.json: "drill-chat-b")`}, v.Problems)

	// Usage errors keep exit code 1.
	code, _, _ = run(t, "evidence", "verify", store.Path("drill-chat-a"), "--pubkey", filepath.Join(t.TempDir(), "none.pub"))
	assert.Equal(t, ExitUsage, code)
	code, _, _ = run(t, "evidence", "verify", t.TempDir())
	assert.Equal(t, ExitUsage, code, "an empty folder is not a bundle")
}

func TestEvidenceExport_FilesArePrivate(t *testing.T) {
	store, _ := writeBundles(t, "drill-chat-x")

	out := filepath.Join(t.TempDir(), "audit")
	code, stdout, errOut := run(t, "evidence", "export", "drill-chat-x", "--evidence-dir", store.Dir, "--out", out)
	require.Equal(t, ExitOK, code, errOut)
	assertModes(t, out)
	code, _, _ = run(t, "evidence", "verify", "--output", "json", filepath.Join(out, "drill-chat-x"))
	assert.Equal(t, ExitNotVerified, code, "signed, and no key given")
	assert.Contains(t, stdout, filepath.Join(out, "drill-chat-x"))

	code, stdout, errOut = run(t, "evidence", "export", "drill-chat-x", "--evidence-dir", store.Dir, "--out", out, "--format", "tar.gz")
	require.Equal(t, ExitOK, code, errOut)
	tgz := filepath.Join(out, "drill-chat-x.tar.gz")
	assert.Contains(t, stdout, tgz)
	info, err := os.Stat(tgz)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	f, err := os.Open(tgz)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		assert.Equal(t, int64(0o600), hdr.Mode&0o777, hdr.Name)
		n++
	}
	assert.Greater(t, n, 4)
}

func TestEvidenceKeygen_KeysArePrivate(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	code, _, errOut := run(t, "evidence", "keygen", "--out", keys)
	require.Equal(t, ExitOK, code, errOut)
	assertModes(t, keys)
}

// assertModes checks that root and everything under it is its owner's
// only: folders 0700, files 0600.
func assertModes(t *testing.T, root string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		assert.Equal(t, want, info.Mode().Perm(), path)
		return nil
	}))
}

func TestEvidenceShowAndExport_TakeABundlePathOrADrillID(t *testing.T) {
	store, _ := writeBundles(t, "drill-chat-p")
	bundle := store.Path("drill-chat-p")

	for _, arg := range []string{bundle, "drill-chat-p"} {
		code, out, errOut := run(t, "evidence", "show", arg, "--evidence-dir", store.Dir, "--output", "json")
		require.Equal(t, ExitOK, code, errOut)
		var rec evidence.Record
		require.NoError(t, json.Unmarshal([]byte(out), &rec))
		assert.Equal(t, "drill-chat-p", rec.DrillID, arg)
	}

	// A bundle given by its folder is exported without an evidence store.
	to := filepath.Join(t.TempDir(), "audit")
	code, out, errOut := run(t, "evidence", "export", bundle, "--evidence-dir", filepath.Join(t.TempDir(), "none"), "--to", to)
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, filepath.Join(to, "drill-chat-p")+"\n", out)
	code, _, _ = run(t, "evidence", "verify", filepath.Join(to, "drill-chat-p"))
	assert.Equal(t, ExitNotVerified, code, "signed, and no key given: the copy is the bundle")

	code, _, errOut = run(t, "evidence", "show", "./no/such/bundle", "--evidence-dir", store.Dir)
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "no bundle at ./no/such/bundle")
}

func TestEvidenceExport_OutputJSONAndTheOldOutFlag(t *testing.T) {
	store, _ := writeBundles(t, "drill-chat-j")
	to := filepath.Join(t.TempDir(), "audit")
	code, out, errOut := run(t, "evidence", "export", "drill-chat-j", "--evidence-dir", store.Dir, "--to", to,
		"--format", "tar.gz", "--output", "json")
	require.Equal(t, ExitOK, code, errOut)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, map[string]any{"drillId": "drill-chat-j", "path": filepath.Join(to, "drill-chat-j.tar.gz"),
		"format": "tar.gz", "rebuilt": false}, got)

	old := filepath.Join(t.TempDir(), "old")
	code, out, errOut = run(t, "evidence", "export", "drill-chat-j", "--evidence-dir", store.Dir, "--out", old)
	require.Equal(t, ExitOK, code, errOut)
	assert.Equal(t, filepath.Join(old, "drill-chat-j")+"\n", out, "--out still works")

	keys := filepath.Join(t.TempDir(), "keys")
	code, out, errOut = run(t, "evidence", "keygen", "--to", keys, "--output", "json")
	require.Equal(t, ExitOK, code, errOut)
	assert.Contains(t, out, filepath.Join(keys, evidence.PublicKeyFile))
	code, _, errOut = run(t, "evidence", "keygen")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--to is required")
}
