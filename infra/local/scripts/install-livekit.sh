#!/usr/bin/env bash
# Installs livekit-server, the WebRTC SFU the comms function's consult rooms
# run on, into the project's bin directory. It is built from the Go module
# proxy (v1.9.x builds from its module; v1.13 needs forked modules the proxy
# does not serve), so it needs only Go. The first build takes 10+ minutes on
# a small machine.
#
#   SMARTREG_BIN      install directory (default: <repo>/bin)
#   LIVEKIT_VERSION   module version (default: v1.9.11)
set -euo pipefail

version="${LIVEKIT_VERSION:-v1.9.11}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
bin="${SMARTREG_BIN:-$repo/bin}"
target="$bin/livekit-server"

installed_version() {
	go version -m "$1" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/livekit/livekit-server" { print $3 }'
}

if [[ -x "$target" && "$(installed_version "$target")" == "$version" ]]; then
	echo "livekit-server $version already installed at $target"
	exit 0
fi

command -v go >/dev/null || { echo "install-livekit: go is not on PATH" >&2; exit 1; }
mkdir -p "$bin"
# A binary another checkout already built (same version, in Go's bin) is
# copied instead of rebuilt: the build is the slow part.
gobin="$(go env GOPATH)/bin/livekit-server"
if [[ -x "$gobin" && "$(installed_version "$gobin")" == "$version" ]]; then
	cp "$gobin" "$target.tmp" && mv "$target.tmp" "$target"
	echo "installed livekit-server $version at $target (copied from $gobin)"
	exit 0
fi
echo "building livekit-server $version into $bin (takes 10+ minutes the first time)"
# The main package is cmd/server, so go install names the binary "server":
# build into a scratch directory and rename. GOWORK=off: the build must not
# see this repository's go.work.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
GOWORK=off GOBIN="$tmp" GOFLAGS="-mod=mod -buildvcs=false" \
	go install "github.com/livekit/livekit-server/cmd/server@$version"
mv "$tmp/server" "$target"
# Left in Go's bin as well, so the next checkout copies instead of building.
{ mkdir -p "$(dirname "$gobin")" && cp "$target" "$gobin"; } 2>/dev/null || true
echo "installed livekit-server $(installed_version "$target") at $target"
