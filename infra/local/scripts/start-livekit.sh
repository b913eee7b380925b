#!/usr/bin/env bash
# Starts livekit-server in development mode in the background and waits
# until it answers. Does nothing when something already answers on the
# port, so it is safe to run before every `task` that needs LiveKit.
#
#   LIVEKIT_PORT        HTTP/WebSocket port (default 7880); RTC over TCP on
#                       LIVEKIT_RTC_TCP_PORT (default 7881)
#   LIVEKIT_UDP_START   first UDP media port (default 50000)
#   LIVEKIT_UDP_END     last UDP media port (default 50100)
#   LIVEKIT_API_KEY     API key (default smartreg)
#   LIVEKIT_API_SECRET  API secret (default smartreg-livekit-dev-secret-0123456789)
#   SMARTREG_DATA       data root (default <repo>/.data): config, log, pid file
#   SMARTREG_BIN        where install-livekit.sh put the binary (default <repo>/bin)
#   LIVEKIT_BIN         explicit binary path (overrides SMARTREG_BIN)
#
# Stop it with: kill "$(cat "$SMARTREG_DATA/livekit.pid")"
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
port="${LIVEKIT_PORT:-7880}"
tcp_port="${LIVEKIT_RTC_TCP_PORT:-7881}"
udp_start="${LIVEKIT_UDP_START:-50000}"
udp_end="${LIVEKIT_UDP_END:-50100}"
key="${LIVEKIT_API_KEY:-smartreg}"
secret="${LIVEKIT_API_SECRET:-smartreg-livekit-dev-secret-0123456789}"
data="${SMARTREG_DATA:-$repo/.data}"
lk="${LIVEKIT_BIN:-${SMARTREG_BIN:-$repo/bin}/livekit-server}"

# livekit-server answers "OK" on / when it is up.
answers() {
	if command -v curl >/dev/null; then
		curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
	fi
}

if answers; then
	echo "LiveKit already answering on 127.0.0.1:$port; not starting livekit-server"
	exit 0
fi

if [[ ! -x "$lk" ]]; then
	echo "livekit-server not found at $lk; run infra/local/scripts/install-livekit.sh" >&2
	exit 1
fi

mkdir -p "$data"
conf="$data/livekit.yaml"
log="$data/livekit.log"
pidfile="$data/livekit.pid"
# Loopback only: this is the development server. Keys come from the config
# so that the platform and the tests share them (dev mode's placeholder
# devkey/secret is used only when no keys are given).
cat >"$conf" <<YAML
port: $port
bind_addresses: ["127.0.0.1"]
rtc:
  tcp_port: $tcp_port
  port_range_start: $udp_start
  port_range_end: $udp_end
  use_external_ip: false
  node_ip: 127.0.0.1
keys:
  $key: $secret
# The consult's host unmutes a member through the room service (FP-151).
room:
  enable_remote_unmute: true
logging:
  level: info
YAML

setsid "$lk" --dev --config "$conf" >>"$log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"
for _ in $(seq 1 60); do
	if answers; then
		echo "started livekit-server (pid $pid) on 127.0.0.1:$port, log $log"
		exit 0
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.5
done
echo "livekit-server did not answer on 127.0.0.1:$port; see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
