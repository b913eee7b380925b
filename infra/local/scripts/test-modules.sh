#!/usr/bin/env bash
# test-modules.sh — runs every workspace module's tests (go.work's "use"
# list), TEST_JOBS modules at a time, each with its packages two at a time,
# and prints each module's output whole when it ends, then one summary line
# per module and the package counts. Exits non-zero when any module failed.
#
#   bash infra/local/scripts/test-modules.sh [go test flags…]
#
# TEST_JOBS (default 2; the test databases share one server with 100
# connections) trades wall time for load; TEST_TIMEOUT (default 20m) is go test's -timeout.
set -uo pipefail

jobs="${TEST_JOBS:-2}"
timeout="${TEST_TIMEOUT:-20m}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

modules=$(go list -m) || exit 1
[[ -n "$modules" ]] || { echo "go list -m found no workspace modules" >&2; exit 1; }

run_module() {
	local mod="$1" name="${1#github.com/sjzamr/smartreg/}" start status
	local file="$dir/$(tr '/' '_' <<<"$name")"
	start=$(date +%s)
	if go test -count=1 -p 2 -timeout "$timeout" "${@:2}" "$mod/..." >"$file.log" 2>&1; then
		status=PASS
	else
		status=FAIL
	fi
	printf '%s %s %d\n' "$status" "$name" $(($(date +%s) - start)) >"$file.status"
	{
		echo "=== $name ($status)"
		cat "$file.log"
	}
}
export -f run_module
export dir timeout

# Slow modules first, so the longest do not start last.
ordered=$(for m in $modules; do
	case "$m" in
	*/tests | */infra/local | */functions/identity | */functions/ocr-idcard) echo "0 $m" ;;
	*) echo "1 $m" ;;
	esac
done | sort -s -k1,1 | cut -d' ' -f2)

printf '%s\n' $ordered | xargs -P "$jobs" -I{} bash -c 'run_module "$@"' _ {} "$@"

echo
echo "--- summary per module"
mods=0 bad=0 pkg_ok=0 pkg_fail=0
for m in $modules; do
	name=${m#github.com/sjzamr/smartreg/}
	file="$dir/$(tr '/' '_' <<<"$name")"
	read -r status _ secs <"$file.status" 2>/dev/null || { status=FAIL secs=0; }
	ok=$(grep -c '^ok ' "$file.log" 2>/dev/null || true)
	fail=$(grep -c '^FAIL[[:space:]]' "$file.log" 2>/dev/null || true)
	none=$(grep -c '\[no test files\]' "$file.log" 2>/dev/null || true)
	mods=$((mods + 1))
	[[ "$status" == PASS ]] || bad=$((bad + 1))
	pkg_ok=$((pkg_ok + ok)) pkg_fail=$((pkg_fail + fail))
	printf '%-4s %-26s %3d ok, %3d failed, %3d without tests  (%ds)\n' "$status" "$name" "$ok" "$fail" "$none" "$secs"
done
echo "modules: $((mods - bad)) of $mods passed"
echo "packages: $pkg_ok passed, $pkg_fail failed"
((bad == 0))
