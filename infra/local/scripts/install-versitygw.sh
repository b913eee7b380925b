#!/usr/bin/env bash
# Installs versitygw, the S3-compatible server the local platform and the
# shared/blob tests use, into the project's bin directory. It is built from
# the Go module proxy, so it needs only Go and no other download site.
#
#   SMARTREG_BIN        install directory (default: <repo>/bin)
#   VERSITYGW_VERSION   module version (default: v1.8.0)
set -euo pipefail

version="${VERSITYGW_VERSION:-v1.8.0}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
bin="${SMARTREG_BIN:-$repo/bin}"
target="$bin/versitygw"

# The binary reports "git" as its --version when built with go install, so
# read the module version Go embedded in it instead.
installed_version() {
	go version -m "$1" 2>/dev/null |
		awk '$1 == "mod" && $2 == "github.com/versity/versitygw" { print $3 }'
}

if [[ -x "$target" && "$(installed_version "$target")" == "$version" ]]; then
	echo "versitygw $version already installed at $target"
	exit 0
fi

command -v go >/dev/null || { echo "install-versitygw: go is not on PATH" >&2; exit 1; }
mkdir -p "$bin"
echo "building versitygw $version into $bin (takes a few minutes the first time)"
# GOWORK=off: the build must not see this repository's go.work.
GOWORK=off GOBIN="$bin" GOFLAGS=-buildvcs=false \
	go install "github.com/versity/versitygw/cmd/versitygw@$version"
echo "installed versitygw $(installed_version "$target") at $target"
