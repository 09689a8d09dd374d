package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyBundle copies the files of bundle src into folder dst (created).
func copyBundle(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	}))
}

func TestVerify_ABundleUnderAnotherDrillsFolderFails(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	pub, priv := newKey(t)
	now := time.Now().UTC()
	refA, err := store.Write(sampleRecord("drill-chat-a", now), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	refB, err := store.Write(sampleRecord("drill-chat-b", now), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)

	// Drill B's bundle, whole and validly signed, put in place of drill A's.
	require.NoError(t, os.RemoveAll(refA.Path))
	copyBundle(t, refB.Path, refA.Path)

	res, err := Verify(refA.Path, pub)
	require.NoError(t, err)
	assert.False(t, res.OK, "%+v", res)
	assert.Equal(t, "valid", res.Signature, "the signature itself is fine")
	assert.Equal(t, "drill-chat-b", res.DrillID)
	require.NotNil(t, res.DrillIDMismatch)
	assert.Equal(t, DrillIDs{Folder: "drill-chat-a", Record: "drill-chat-b", Manifest: "drill-chat-b"}, *res.DrillIDMismatch)
	assert.Contains(t, strings.Join(res.Problems, "\n"),
		`drill id: the bundle's folder is named "drill-chat-a", but drill.json says "drill-chat-b" (manifest.json: "drill-chat-b")`)

	// The same bundle verified under its own name, through a relative path
	// with a trailing slash, is fine.
	t.Chdir(store.Dir)
	res, err = Verify("drill-chat-b/", pub)
	require.NoError(t, err)
	assert.True(t, res.OK, "%+v", res)
	assert.Empty(t, res.Problems)
}

func TestVerify_AManifestNamingAnotherDrillFails(t *testing.T) {
	// Unsigned, so nothing but the drill id check can catch it.
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(sampleRecord("drill-chat-c", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	path := filepath.Join(ref.Path, FileManifest)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(raw), `"drill-chat-c"`, `"drill-chat-x"`, 1)), 0o600))

	res, err := Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.False(t, res.OK)
	require.NotNil(t, res.DrillIDMismatch)
	assert.Equal(t, DrillIDs{Folder: "drill-chat-c", Record: "drill-chat-c", Manifest: "drill-chat-x"}, *res.DrillIDMismatch)
	assert.Contains(t, strings.Join(res.Problems, "\n"),
		`drill id: manifest.json says "drill-chat-x", but the bundle's folder and drill.json say "drill-chat-c"`)
}

// flipEveryByte flips the lowest bit of each byte of the named file in
// turn, calls check on the bundle verified with pub each time, and restores
// the file.
func flipEveryByte(t *testing.T, bundle, name string, pub ed25519.PublicKey, check func(t *testing.T, i int, res *VerifyResult)) {
	t.Helper()
	path := filepath.Join(bundle, name)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, os.WriteFile(path, orig, 0o600)) }()
	for i := range orig {
		tampered := append([]byte(nil), orig...)
		tampered[i] ^= 0x01
		require.NoError(t, os.WriteFile(path, tampered, 0o600))
		res, err := Verify(bundle, pub)
		require.NoError(t, err)
		check(t, i, res)
	}
}

func TestVerify_BlamesTheFileThatChanged(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	pub, priv := newKey(t)
	ref, err := store.Write(sampleRecord("drill-chat-d", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	verifyWith := func(t *testing.T, pub ed25519.PublicKey) *VerifyResult {
		t.Helper()
		res, err := Verify(ref.Path, pub)
		require.NoError(t, err)
		assert.False(t, res.OK)
		assert.NotEmpty(t, res.Problems)
		return res
	}
	tamper := func(t *testing.T, name string, i int) {
		t.Helper()
		path := filepath.Join(ref.Path, name)
		orig, err := os.ReadFile(path)
		require.NoError(t, err)
		tampered := append([]byte(nil), orig...)
		tampered[i] ^= 0x01
		require.NoError(t, os.WriteFile(path, tampered, 0o600))
		t.Cleanup(func() { require.NoError(t, os.WriteFile(path, orig, 0o600)) })
	}
	raw, err := os.ReadFile(filepath.Join(ref.Path, FileManifest))
	require.NoError(t, err)
	var m Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	playbookDigest := strings.Index(string(raw), strings.TrimPrefix(m.Files[FilePlaybook], "sha256:"))
	require.Positive(t, playbookDigest)

	t.Run("a bit of playbook.yaml's digest in the manifest", func(t *testing.T) {
		tamper(t, FileManifest, playbookDigest+10)
		for _, key := range []ed25519.PublicKey{pub, nil} {
			res := verifyWith(t, key)
			assert.Equal(t, []string{FileManifest}, res.Changed, "the manifest changed, not playbook.yaml")
			assert.Contains(t, strings.Join(res.Problems, "\n"), "manifest.json: altered: its signature does not match the manifest")
			assert.NotContains(t, strings.Join(res.Problems, "\n"), "playbook.yaml: changed")
		}
	})
	t.Run("the middle byte of the manifest", func(t *testing.T) {
		tamper(t, FileManifest, len(raw)/2)
		res := verifyWith(t, pub)
		assert.Equal(t, []string{FileManifest}, res.Changed)
		assert.Equal(t, "invalid", res.Signature)
	})
	t.Run("a bit of playbook.yaml", func(t *testing.T) {
		tamper(t, FilePlaybook, 3)
		for _, key := range []ed25519.PublicKey{pub, nil} {
			res := verifyWith(t, key)
			assert.Equal(t, []string{FilePlaybook}, res.Changed)
			assert.Contains(t, strings.Join(res.Problems, "\n"), "playbook.yaml: changed: its SHA-256 does not match manifest.json")
		}
		assert.Equal(t, "valid", verifyWith(t, pub).Signature, "the manifest itself is intact")
	})
	t.Run("the manifest's key fingerprint is not another signer", func(t *testing.T) {
		tamper(t, FileManifest, strings.Index(string(raw), `"publicKey": "sha256:`)+len(`"publicKey": "sha256:`)+5)
		res := verifyWith(t, pub)
		assert.Equal(t, []string{FileManifest}, res.Changed)
		assert.Equal(t, "invalid", res.Signature, "an altered fingerprint is not a wrong key")
	})
	t.Run("every byte of the manifest", func(t *testing.T) {
		check := func(t *testing.T, i int, res *VerifyResult) {
			assert.False(t, res.OK, "byte %d", i)
			if !assert.Len(t, res.Changed, 1, "byte %d", i) {
				return
			}
			// Only a changed instant (createdAt), or a bit of the key that
			// still decodes as base64, leaves a well-formed manifest that
			// only its signature disowns: either file may then be the
			// altered one.
			if res.Changed[0] != FileManifest {
				assert.Equal(t, FileManifest+" or "+FileSignature, res.Changed[0], "byte %d", i)
				before := string(raw[max(i-80, 0):i])
				assert.True(t, strings.Contains(before, `"createdAt"`) || strings.Contains(before, `"key"`),
					"byte %d: %q", i, before)
			}
		}
		flipEveryByte(t, ref.Path, FileManifest, pub, check)
		flipEveryByte(t, ref.Path, FileManifest, nil, check) // the key the manifest names tells
	})
	t.Run("every byte of the signature", func(t *testing.T) {
		flipEveryByte(t, ref.Path, FileSignature, pub, func(t *testing.T, i int, res *VerifyResult) {
			assert.False(t, res.OK, "byte %d", i)
			assert.NotContains(t, res.Changed, FileManifest, "byte %d", i)
		})
	})
}

func TestVerify_AnUnsignedManifestThatIsNotWellFormedIsBlamed(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(sampleRecord("drill-chat-e", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	path := filepath.Join(ref.Path, FileManifest)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, edit := range []struct{ from, to string }{
		{`"files"`, `"fhles"`},          // a key
		{`"sha256:`, `"sha257:`},        // a digest's form
		{`": "sha256:`, `":  "sha256:`}, // spacing drillctl never writes
	} {
		t.Run(edit.to, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(raw), edit.from, edit.to, 1)), 0o600))
			t.Cleanup(func() { require.NoError(t, os.WriteFile(path, raw, 0o600)) })
			res, err := Verify(ref.Path, nil)
			require.NoError(t, err)
			assert.False(t, res.OK)
			assert.Equal(t, []string{FileManifest}, res.Changed)
			assert.Empty(t, res.Extra, "no file is blamed for a broken manifest")
		})
	}
}

func TestVerify_AManifestCannotReachOutsideTheBundle(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(sampleRecord("drill-chat-f", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	path := filepath.Join(ref.Path, FileManifest)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var m Manifest
	require.NoError(t, json.Unmarshal(raw, &m))
	m.Files["../outside.txt"] = digest(nil)
	b, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o600))
	res, err := Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, []string{FileManifest}, res.Changed)
	assert.Contains(t, strings.Join(res.Problems, "\n"), `"../outside.txt"`)
}

func TestVerify_AMissingManifestIsTamperingNotUsage(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	ref, err := store.Write(sampleRecord("drill-chat-g", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(ref.Path, FileManifest)))
	res, err := Verify(ref.Path, nil)
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Equal(t, []string{FileManifest}, res.Missing)

	_, err = Verify(t.TempDir(), nil)
	require.Error(t, err, "an empty folder is not a bundle")
	assert.Contains(t, err.Error(), "is not a bundle")
}

func TestVerify_ProblemsSayEverythingThatIsNotOK(t *testing.T) {
	store := &Store{Dir: t.TempDir()}
	pub, priv := newKey(t)
	other, _ := newKey(t)
	signed, err := store.Write(sampleRecord("drill-chat-h", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	unsigned, err := store.Write(sampleRecord("drill-chat-i", time.Now().UTC()), playbookYAML, nil, RenderOptions{})
	require.NoError(t, err)
	for _, tc := range []struct {
		name, bundle string
		key          ed25519.PublicKey
		signature    string
		problem      string
	}{
		{"signed, right key", signed.Path, pub, "valid", ""},
		{"signed, no key", signed.Path, nil, "unchecked", "manifest.sig: the signature was not checked: no public key given"},
		{"signed, wrong key", signed.Path, other, "wrong-key", "manifest.sig: signed with another key"},
		{"unsigned, no key", unsigned.Path, nil, "unsigned", ""},
		{"unsigned, a key", unsigned.Path, pub, "unsigned", "the bundle is unsigned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Verify(tc.bundle, tc.key)
			require.NoError(t, err)
			assert.Equal(t, tc.signature, res.Signature)
			assert.Equal(t, tc.problem == "", res.OK)
			assert.Equal(t, res.OK, len(res.Problems) == 0, "%q", res.Problems)
			if tc.problem != "" {
				assert.Contains(t, strings.Join(res.Problems, "\n"), tc.problem)
			}
		})
	}
}

func TestStore_FilesArePrivate(t *testing.T) {
	store := &Store{Dir: filepath.Join(t.TempDir(), "evidence")}
	_, priv := newKey(t)
	ref, err := store.Write(sampleRecord("drill-chat-p", time.Now().UTC()), playbookYAML, priv, RenderOptions{})
	require.NoError(t, err)
	assertPrivate(t, store.Dir)

	keys := filepath.Join(t.TempDir(), "keys")
	privPath, pubPath, err := GenerateKey(keys)
	require.NoError(t, err)
	assertPrivate(t, keys)
	for _, p := range []string{ref.Path, privPath, pubPath} {
		_, err := os.Stat(p)
		require.NoError(t, err)
	}
}

// assertPrivate checks that root and everything under it is readable by
// its owner only: folders 0700, files 0600.
func assertPrivate(t *testing.T, root string) {
	t.Helper()
	n := 0
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
		n++
		return nil
	}))
	assert.Greater(t, n, 1)
}
