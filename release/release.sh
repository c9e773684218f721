#!/usr/bin/env bash
# Builds a release into $DIST (default dist/): `make release VERSION=vX.Y.Z`.
#
#   ongoingai_<os>_<arch>[.exe]       static binaries (CGO_ENABLED=0, -trimpath),
#                                    stamped with version, commit and date
#   ongoingai_<os>_<arch>*.cdx.json   CycloneDX SBOM (cyclonedx-gomod, pinned in tools.mod)
#   ongoingai_<os>_<arch>*.spdx.json  SPDX SBOM (release/spdx, from the binary's build info)
#   SHA256SUMS                       the sha256 of every file above
#   SHA256SUMS.minisig               minisign signature over SHA256SUMS
#
# Reproducible: the date stamped in is the commit's (SOURCE_DATE_EPOCH,
# from git unless set), every path is trimmed, the build id is empty, and
# the SBOMs carry no serial number or wall-clock time, so two builds of one
# commit with one Go release are byte-identical (`make reproducible`
# checks it). The signature is deterministic too (Ed25519).
#
# Signing: MINISIGN_KEY_FILE names the minisign secret key; an encrypted
# key's password is read from MINISIGN_PASSWORD (or from a terminal).
# The release key lives outside the repository (a CI secret written to a
# file for the job, or the release manager's machine); only the test key
# in release/testdata, which signs nothing but test builds, is committed.
#
# TARGETS narrows the os/arch list (tests build one). A tree with
# uncommitted changes is refused unless RELEASE_ALLOW_DIRTY=1 (tests):
# the commit stamped in must be what was built.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "release: $*" >&2; exit 1; }

VERSION=${VERSION:-}
[[ -n $VERSION ]] || die "VERSION is required: make release VERSION=v1.2.3"
[[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "VERSION $VERSION is not vMAJOR.MINOR.PATCH[-PRERELEASE]"
[[ -n ${MINISIGN_KEY_FILE:-} ]] || die "MINISIGN_KEY_FILE must name the minisign secret key that signs SHA256SUMS"
[[ -r $MINISIGN_KEY_FILE ]] || die "MINISIGN_KEY_FILE $MINISIGN_KEY_FILE is not readable"
if [[ ${RELEASE_ALLOW_DIRTY:-} != 1 && -n $(git status --porcelain --untracked-files=no) ]]; then
  die "the tree has uncommitted changes: commit them (the binaries are stamped with the commit)"
fi

DIST=${DIST:-dist}
TARGETS=${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
COMMIT=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
pkg=github.com/ongoingai/gateway/internal/version
ldflags="-s -w -buildid= -X $pkg.Version=$VERSION -X $pkg.Commit=$COMMIT -X $pkg.Date=$DATE"

rm -rf "$DIST"
mkdir -p "$DIST"
files=()
for target in $TARGETS; do
  os=${target%/*} arch=${target#*/}
  ext=
  [[ $os == windows ]] && ext=.exe
  name=ongoingai_${os}_${arch}${ext}
  echo "release: $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$DIST/$name" ./cmd/ongoingai
  go tool -modfile=tools.mod cyclonedx-gomod bin -json -noserial -notimestamp -version "$VERSION" \
    -output "$DIST/$name.cdx.json" "$DIST/$name" 2>/dev/null
  go run ./release/spdx -version "$VERSION" -created "$DATE" "$DIST/$name" >"$DIST/$name.spdx.json"
  files+=("$name" "$name.cdx.json" "$name.spdx.json")
done

(
  cd "$DIST"
  if command -v sha256sum >/dev/null; then
    sha256sum "${files[@]}" >SHA256SUMS
  else
    shasum -a 256 "${files[@]}" >SHA256SUMS
  fi
)

sign=(go tool -modfile=tools.mod minisign -S -s "$MINISIGN_KEY_FILE" -m "$DIST/SHA256SUMS" -x "$DIST/SHA256SUMS.minisig"
  -t "ongoingai $VERSION $COMMIT" -c "signature of ongoingai $VERSION SHA256SUMS")
if [[ -n ${MINISIGN_PASSWORD:-} ]]; then
  printf '%s\n' "$MINISIGN_PASSWORD" | "${sign[@]}" >/dev/null
else
  "${sign[@]}" </dev/null >/dev/null
fi

# File times from the commit too, so an archive of dist/ is reproducible.
touch -d "@$SOURCE_DATE_EPOCH" "$DIST"/* 2>/dev/null || true
echo "release: $VERSION ($COMMIT) written to $DIST/"
