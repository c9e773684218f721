// Package release holds the release tooling: release.sh (make release),
// reproducible.sh (make reproducible), the SPDX generator in spdx, and the
// tests that hold them and the repository's install.sh to their word.
// testdata/test-minisign.key signs test builds only; a real release signs
// with a key kept outside the repository (see release.sh).
package release
