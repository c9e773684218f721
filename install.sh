#!/bin/sh
# Installs the OngoingAI Gateway binary from a release, verified:
#
#   curl -fsSL https://raw.githubusercontent.com/ongoingai/gateway/main/install.sh | \
#     sh -s -- --version v1.2.3 --public-key RWT...
#
# It downloads SHA256SUMS, its minisign signature and the binary for this
# machine, checks the signature over SHA256SUMS with the release public key,
# then the binary's sha256 against SHA256SUMS, and installs only when both
# hold; any mismatch stops it with nothing installed.
#
# Options (or the environment variable after each):
#   --version V      release to install (ONGOINGAI_VERSION; default: the latest)
#   --base-url URL   where the release files are (ONGOINGAI_BASE_URL; default
#                    https://github.com/ongoingai/gateway/releases/download/V).
#                    http(s)://, file:// or a directory path (a local dist/).
#   --public-key K   the minisign public key that signs releases
#                    (ONGOINGAI_PUBLIC_KEY; default: the key pinned below)
#   --dir DIR        install directory (ONGOINGAI_INSTALL_DIR; default
#                    /usr/local/bin when writable, else ~/.local/bin)
#   --os OS --arch A override the detected platform (linux, darwin, windows;
#                    amd64, arm64)
#
# Signature checking needs minisign (https://jedisct1.github.io/minisign/)
# on PATH, or Go, with which the pinned aead.dev/minisign is run.
set -eu

# The release public key. Pinned here when the project's release key is
# created; until then pass --public-key (or ONGOINGAI_PUBLIC_KEY).
RELEASE_PUBLIC_KEY=""
MINISIGN_MODULE="aead.dev/minisign/cmd/minisign@v0.3.0"

version=${ONGOINGAI_VERSION:-}
base_url=${ONGOINGAI_BASE_URL:-}
public_key=${ONGOINGAI_PUBLIC_KEY:-$RELEASE_PUBLIC_KEY}
dir=${ONGOINGAI_INSTALL_DIR:-}
os= arch=

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --base-url) base_url=${2:?--base-url needs a value}; shift 2 ;;
    --public-key) public_key=${2:?--public-key needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    --os) os=${2:?--os needs a value}; shift 2 ;;
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0" 2>/dev/null || true; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

[ -n "$public_key" ] || die "no release public key: pass --public-key KEY (the key published with the release notes)"

if [ -z "$os" ]; then
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW*|MSYS*|CYGWIN*) os=windows ;;
    *) die "unsupported OS $(uname -s): pass --os" ;;
  esac
fi
if [ -z "$arch" ]; then
  case $(uname -m) in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported architecture $(uname -m): pass --arch" ;;
  esac
fi
ext=
[ "$os" = windows ] && ext=.exe
name=ongoingai_${os}_${arch}${ext}

if [ -z "$base_url" ]; then
  if [ -n "$version" ]; then
    base_url=https://github.com/ongoingai/gateway/releases/download/$version
  else
    base_url=https://github.com/ongoingai/gateway/releases/latest/download
  fi
fi

if [ -z "$dir" ]; then
  if [ -w /usr/local/bin ]; then dir=/usr/local/bin; else dir=$HOME/.local/bin; fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fetch() { # fetch FILE: base_url/FILE to $tmp/FILE
  case $base_url in
    http://*|https://*|file://*)
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL -o "$tmp/$1" "$base_url/$1" || die "cannot download $base_url/$1"
      elif command -v wget >/dev/null 2>&1 && [ "${base_url#file://}" = "$base_url" ]; then
        wget -q -O "$tmp/$1" "$base_url/$1" || die "cannot download $base_url/$1"
      elif [ "${base_url#file://}" != "$base_url" ]; then
        cp "${base_url#file://}/$1" "$tmp/$1" || die "cannot read $base_url/$1"
      else
        die "need curl or wget to download"
      fi ;;
    *) cp "$base_url/$1" "$tmp/$1" || die "cannot read $base_url/$1" ;;
  esac
}

fetch SHA256SUMS
fetch SHA256SUMS.minisig
fetch "$name"

# 1. The signature over SHA256SUMS.
if command -v minisign >/dev/null 2>&1; then
  verify() { minisign -V -q -P "$public_key" -m "$tmp/SHA256SUMS" -x "$tmp/SHA256SUMS.minisig"; }
elif command -v go >/dev/null 2>&1; then
  verify() { go run "$MINISIGN_MODULE" -V -q -P "$public_key" -m "$tmp/SHA256SUMS" -x "$tmp/SHA256SUMS.minisig"; }
else
  die "minisign is needed to check the release signature (or Go, to run $MINISIGN_MODULE): install one and retry"
fi
verify >/dev/null 2>&1 || die "SHA256SUMS: signature verification FAILED: not installing (wrong key, or the files were altered)"

# 2. The binary's hash against the signed SHA256SUMS.
want=$(awk -v f="$name" '$2 == f || $2 == "*"f { print $1 }' "$tmp/SHA256SUMS")
[ -n "$want" ] || die "SHA256SUMS has no entry for $name"
if command -v sha256sum >/dev/null 2>&1; then
  got=$(sha256sum "$tmp/$name" | awk '{print $1}')
else
  got=$(shasum -a 256 "$tmp/$name" | awk '{print $1}')
fi
[ "$got" = "$want" ] || die "$name: sha256 $got does not match SHA256SUMS ($want): not installing"

mkdir -p "$dir"
target=$dir/ongoingai$ext
cp "$tmp/$name" "$tmp/ongoingai.new"
chmod 0755 "$tmp/ongoingai.new"
mv -f "$tmp/ongoingai.new" "$target" 2>/dev/null || cp "$tmp/ongoingai.new" "$target"
echo "install.sh: installed $name (signature and sha256 verified) as $target"
