package release_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const testVersion = "v0.0.0-test"

// root is the repository root.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func testPublicKey(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/test-minisign.pub")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// host is this machine's release target, the one install.sh picks.
func host() (target, name string) {
	name = "ongoingai_" + runtime.GOOS + "_" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return runtime.GOOS + "/" + runtime.GOARCH, name
}

// release runs release.sh for the host target into dist.
func release(t *testing.T, dist string, env ...string) {
	t.Helper()
	target, _ := host()
	cmd := exec.Command("bash", "release/release.sh")
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), "VERSION="+testVersion, "TARGETS="+target, "DIST="+dist,
		"MINISIGN_KEY_FILE="+filepath.Join(root(t), "release/testdata/test-minisign.key"), "RELEASE_ALLOW_DIRTY=1")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
}

// minisignDir builds the pinned minisign into a directory for PATH.
func minisignDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-modfile=tools.mod", "-o", dir, "aead.dev/minisign/cmd/minisign")
	cmd.Dir = root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build minisign: %v\n%s", err, out)
	}
	return dir
}

// copyDir copies the flat directory src to a new one.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// install runs install.sh against baseURL into a fresh directory and
// returns its exit status, output and the directory.
func install(t *testing.T, path, baseURL, publicKey string) (bool, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bin")
	args := []string{filepath.Join(root(t), "install.sh"), "--version", testVersion, "--base-url", baseURL, "--dir", dir}
	if publicKey != "" {
		args = append(args, "--public-key", publicKey)
	}
	cmd := exec.Command("sh", args...)
	// Only what install.sh may use: the minisign under test, the system's
	// tools; no Go, so the check cannot fall back to another verifier.
	cmd.Env = []string{"PATH=" + path + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	return err == nil, string(out), dir
}

// The release as a user meets it: make release's files, byte-identical
// when built twice, verified by minisign and sha256sum as the README says,
// installed by install.sh from a file server or a local dist/, and refused
// by install.sh when the binary, the sums or the signature were altered.
func TestReleaseAndInstall(t *testing.T) {
	_, name := host()
	dist := t.TempDir()
	release(t, dist)
	for _, f := range []string{name, name + ".cdx.json", name + ".spdx.json", "SHA256SUMS", "SHA256SUMS.minisig"} {
		if info, err := os.Stat(filepath.Join(dist, f)); err != nil || info.Size() == 0 {
			t.Fatalf("dist lacks %s: %v", f, err)
		}
	}

	// Reproducible: a second build of this commit writes the same bytes.
	again := t.TempDir()
	release(t, again)
	for _, f := range []string{name, name + ".cdx.json", name + ".spdx.json", "SHA256SUMS", "SHA256SUMS.minisig"} {
		a, _ := os.ReadFile(filepath.Join(dist, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of one commit", f)
		}
	}

	// The SBOMs name the release and its modules.
	var cdx struct {
		BOMFormat  string `json:"bomFormat"`
		Components []struct {
			Name string `json:"name"`
		} `json:"components"`
	}
	var spdx struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name        string `json:"name"`
			VersionInfo string `json:"versionInfo"`
		} `json:"packages"`
	}
	for path, v := range map[string]any{name + ".cdx.json": &cdx, name + ".spdx.json": &spdx} {
		b, _ := os.ReadFile(filepath.Join(dist, path))
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if cdx.BOMFormat != "CycloneDX" || len(cdx.Components) < 10 {
		t.Errorf("CycloneDX SBOM: format %q, %d components", cdx.BOMFormat, len(cdx.Components))
	}
	if spdx.SPDXVersion != "SPDX-2.3" || len(spdx.Packages) < 10 || spdx.Packages[0].Name != "github.com/ongoingai/gateway" || spdx.Packages[0].VersionInfo != testVersion {
		t.Errorf("SPDX SBOM: %s, %d packages, first %+v", spdx.SPDXVersion, len(spdx.Packages), spdx.Packages[0])
	}

	// The binary says what it is.
	out, err := exec.Command(filepath.Join(dist, name), "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, Commit, Date string }
	if err := json.Unmarshal(out, &v); err != nil || v.Version != testVersion || len(v.Commit) != 40 || v.Date == "unknown" {
		t.Errorf("version --json = %s (%v)", out, err)
	}

	// The README's verification, with the test key.
	minisign := minisignDir(t)
	verify := exec.Command(filepath.Join(minisign, "minisign"), "-Vm", "SHA256SUMS", "-P", testPublicKey(t))
	verify.Dir = dist
	if out, err := verify.CombinedOutput(); err != nil {
		t.Fatalf("minisign -Vm SHA256SUMS: %v\n%s", err, out)
	}
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = dist
	if out, err := sums.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}

	key := testPublicKey(t)
	t.Run("from a file server", func(t *testing.T) {
		srv := httptest.NewServer(http.FileServer(http.Dir(dist)))
		defer srv.Close()
		ok, out, dir := install(t, minisign, srv.URL, key)
		if !ok {
			t.Fatalf("install.sh failed:\n%s", out)
		}
		got, err := exec.Command(filepath.Join(dir, "ongoingai"), "version").Output()
		if err != nil || !strings.Contains(string(got), "ongoingai "+testVersion) {
			t.Errorf("installed binary: %s %v", got, err)
		}
	})
	t.Run("from a local dist", func(t *testing.T) {
		for _, base := range []string{"file://" + dist, dist} {
			if ok, out, _ := install(t, minisign, base, key); !ok {
				t.Errorf("install.sh --base-url %s failed:\n%s", base, out)
			}
		}
	})
	refused := func(t *testing.T, base, key, want string) {
		t.Helper()
		ok, out, dir := install(t, minisign, base, key)
		if ok || !strings.Contains(out, want) {
			t.Errorf("install.sh: ok=%v, output %q, want a refusal saying %q", ok, out, want)
		}
		if _, err := os.Stat(filepath.Join(dir, "ongoingai")); err == nil {
			t.Error("a binary was installed despite the refusal")
		}
	}
	t.Run("tampered binary", func(t *testing.T) {
		d := copyDir(t, dist)
		f, err := os.OpenFile(filepath.Join(d, name), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("trojan"))
		f.Close()
		refused(t, d, key, "does not match SHA256SUMS")
	})
	t.Run("tampered sums", func(t *testing.T) {
		// The attacker replaces the binary and writes its hash into
		// SHA256SUMS: the signature no longer holds.
		d := copyDir(t, dist)
		os.WriteFile(filepath.Join(d, name), []byte("#!/bin/sh\necho pwned\n"), 0o755)
		sum, err := exec.Command("sha256sum", filepath.Join(d, name)).Output()
		if err != nil {
			t.Fatal(err)
		}
		old, _ := os.ReadFile(filepath.Join(d, "SHA256SUMS"))
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(old)), "\n") {
			if strings.HasSuffix(l, "  "+name) {
				l = strings.Fields(string(sum))[0] + "  " + name
			}
			lines = append(lines, l)
		}
		os.WriteFile(filepath.Join(d, "SHA256SUMS"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		refused(t, d, key, "signature verification FAILED")
	})
	t.Run("signature by another key", func(t *testing.T) {
		d := copyDir(t, dist)
		keys := t.TempDir()
		gen := exec.Command(filepath.Join(minisign, "minisign"), "-G", "-W", "-p", filepath.Join(keys, "other.pub"), "-s", filepath.Join(keys, "other.key"))
		if out, err := gen.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		os.Remove(filepath.Join(d, "SHA256SUMS.minisig"))
		sign := exec.Command(filepath.Join(minisign, "minisign"), "-S", "-s", filepath.Join(keys, "other.key"), "-m", filepath.Join(d, "SHA256SUMS"))
		if out, err := sign.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		refused(t, d, key, "signature verification FAILED")
	})
	t.Run("no public key", func(t *testing.T) {
		refused(t, dist, "", "no release public key")
	})
}
