#!/usr/bin/env bash
# Starts versitygw (posix backend) in the background as the local S3 server
# and waits until it answers. Does nothing when something already answers
# on the port, so it is safe to run before every `task` that needs S3.
#
#   S3_PORT         listen port (default 7070), bound to S3_HOST
#   S3_HOST         listen address (default 127.0.0.1: local use only)
#   S3_ACCESS_KEY   root access key (default smartreg)
#   S3_SECRET_KEY   root secret key (default smartreg-secret)
#   SMARTREG_DATA   data root (default <repo>/.data); objects go to $SMARTREG_DATA/s3,
#                   the log and pid file beside it
#   SMARTREG_BIN    where install-versitygw.sh put the binary (default <repo>/bin)
#   VERSITYGW_BIN   explicit binary path (overrides SMARTREG_BIN)
#
# Stop it with: kill "$(cat "$SMARTREG_DATA/versitygw.pid")"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
port="${S3_PORT:-7070}"
host="${S3_HOST:-127.0.0.1}"
access="${S3_ACCESS_KEY:-smartreg}"
secret="${S3_SECRET_KEY:-smartreg-secret}"
data="${SMARTREG_DATA:-$repo/.data}"
vgw="${VERSITYGW_BIN:-${SMARTREG_BIN:-$repo/bin}/versitygw}"
probe_host="$host"
[[ "$probe_host" == "0.0.0.0" ]] && probe_host=127.0.0.1
health="http://$probe_host:$port/health"

# Any HTTP answer (versitygw answers 403 to anonymous requests) means the
# port is served; without curl, fall back to a bare TCP connect.
answers() {
	if command -v curl >/dev/null; then
		curl -s -o /dev/null --max-time 2 "http://$probe_host:$port/"
	else
		(exec 3<>"/dev/tcp/$probe_host/$port") 2>/dev/null
	fi
}

if answers; then
	echo "S3 server already answering on $probe_host:$port; not starting versitygw"
	exit 0
fi

if [[ ! -x "$vgw" ]]; then
	echo "versitygw not found at $vgw; run infra/local/scripts/install-versitygw.sh" >&2
	exit 1
fi

mkdir -p "$data/s3"
log="$data/versitygw.log"
pidfile="$data/versitygw.pid"

# setsid detaches it from this shell's session so it outlives the script.
ROOT_ACCESS_KEY_ID="$access" ROOT_SECRET_ACCESS_KEY="$secret" \
	setsid "$vgw" --port "$host:$port" --health /health --quiet \
	posix "$data/s3" >>"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

for _ in $(seq 1 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "versitygw exited during start; last lines of $log:" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	if answers; then
		echo "versitygw (pid $pid) serving $data/s3 on $probe_host:$port"
		echo "blob location: s3://$access:<secret>@smartreg?endpoint=http://$probe_host:$port"
		exit 0
	fi
	sleep 0.2
done
echo "versitygw (pid $pid) did not answer on $health within 20s; see $log" >&2
exit 1
