#!/usr/bin/env bash
# ensure-services.sh — makes sure the services SmartReg needs run on this
# machine, installing them from Debian/Ubuntu packages when they are missing.
# 确保本机运行 SmartReg 所需的服务，缺少时用 apt 安装。
#
# Safe to run again and again: it only acts on what is missing or stopped,
# and prints nothing when everything is already in place.
#
#   bash infra/local/scripts/ensure-services.sh [--s3] [--tools] [-v]
#
#   (always)  PostgreSQL 15+ with PostGIS, Redis, Node.js, and the libraries
#             the platform's build links (libtesseract-dev, libleptonica-dev,
#             tesseract-ocr-chi-sim: ocr-idcard uses Tesseract through cgo)
#   --s3      also install and start versitygw, the local S3 server
#             (install-versitygw.sh / start-versitygw.sh beside this script)
#   --tools   also install the command-line tools the tests drive: zbar-tools,
#             qrencode, wrk, tesseract-ocr (the raw-OCR anchor of ocrbench), chromium,
#             chromium-driver, and fonts-noto-cjk so pages render Chinese;
#             poppler-utils (pdftotext, pdftoppm) and librsvg2-bin
#             (rsvg-convert) for the QR poster and SVG tests;
#             libreoffice-writer-nogui (soffice --headless) for the documents'
#             DOCX conversion tests; ffmpeg and espeak-ng for evidence videos
#             and the livestream simulator
#   --livekit also install and start livekit-server in development mode, the
#             comms function's consult rooms (install-livekit.sh /
#             start-livekit.sh beside this script; --tools includes it)
#   -v        say what was checked even when nothing had to be done
#
# Environment:
#   DATABASE_URL  PostgreSQL to reuse. When set and reachable nothing local is
#                 touched: the script only checks that CREATE EXTENSION postgis
#                 works there (inside a transaction that is rolled back).
#                 When unset, the local server on 127.0.0.1:5432 is used and
#                 the database "smartreg" is created in it if missing.
#   REDIS_URL     Redis to reuse when reachable (redis://host:port/db).
#
# PostgreSQL on a machine that has none (what this script does):
#   apt-get install postgresql postgresql-<major>-postgis-3; the package
#   creates the cluster "<major>/main" on port 5432; the script starts it
#   (systemctl when systemd runs, else pg_ctlcluster --skip-systemctl-redirect),
#   then, so that postgres://postgres@127.0.0.1:5432/postgres works without a
#   password, puts two lines at the top of that cluster's pg_hba.conf:
#       host all all 127.0.0.1/32 trust
#       host all all ::1/128      trust
#   (marked "smartreg ensure-services"; loopback only) and reloads. It also
#   creates a superuser role "root" with a database "root", so that plain
#   `psql` as root works over the socket (peer authentication). On a server
#   it did not install it never edits pg_hba.conf unless SMARTREG_PG_TRUST=1
#   is set; it explains instead.
#
# apt-get update runs at most once per run, and only when something must be
# installed. Needs root, or sudo (used, and said so, when not root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

want_s3=0 want_tools=0 want_livekit=0 verbose=0
for arg in "$@"; do
	case "$arg" in
	--s3) want_s3=1 ;;
	--tools) want_tools=1 want_livekit=1 ;;
	--livekit) want_livekit=1 ;;
	-v | --verbose) verbose=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "ensure-services: 未知参数 unknown argument: $arg (try --help)" >&2
		exit 2
		;;
	esac
done

# ---------------------------------------------------------------- output

say() { printf '==> %s\n' "$*"; }
info() { if ((verbose)); then printf '    %s\n' "$*"; fi; }
warn() { printf '!!! %s\n' "$*" >&2; }
die() {
	printf '\n错误 ERROR: %s\n' "$1" >&2
	shift
	for line in "$@"; do printf '    %s\n' "$line" >&2; done
	exit 1
}

# ---------------------------------------------------------------- privileges

# as_root runs a command as root: directly when we are root, else via sudo.
sudo_said=0
as_root() {
	if ((EUID == 0)); then
		"$@"
		return
	fi
	if ! command -v sudo >/dev/null; then
		die "需要 root 权限但没有 sudo / need root for: $*, and sudo is not installed" \
			"Run this script as root, or install and configure sudo."
	fi
	if ((!sudo_said)); then
		say "当前不是 root，使用 sudo / not root: using sudo for installs and service starts"
		sudo_said=1
	fi
	sudo "$@"
}

# as_postgres runs a command as the postgres OS user (peer authentication on
# the local socket), which works on every Debian-packaged cluster.
as_postgres() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		as_root true # says once that sudo is used, or dies without it
		sudo -u postgres "$@"
	fi
}

have_systemd() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

# ---------------------------------------------------------------- apt

apt_updated=0

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# apt_install PKG... installs those of PKG that are not installed yet.
apt_install() {
	local missing=() p
	for p in "$@"; do
		installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	command -v apt-get >/dev/null ||
		die "没有 apt-get / apt-get not found: cannot install ${missing[*]}" \
			"SmartReg's scripts expect Debian 12 or Ubuntu 22.04+; install these packages by hand."
	export DEBIAN_FRONTEND=noninteractive
	if ((!apt_updated)); then
		say "更新软件包索引 / apt-get update"
		as_root apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null
		apt_updated=1
	fi
	say "安装 / installing: ${missing[*]}"
	as_root apt-get -qq -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing[@]}" \
		2> >(grep -v '^debconf: delaying package configuration' >&2) >/dev/null
}

# ---------------------------------------------------------------- PostgreSQL

PGOPTIONS='-c client_min_messages=warning'
export PGOPTIONS

pg_local_url="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
pg_app_db="smartreg"
pg_fresh=0

pg_ready_url() { pg_isready -q -t 3 -d "$1" >/dev/null 2>&1; }
pg_ready_local() { pg_isready -q -t 3 -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

# pg_cluster_5432 prints "VERSION NAME STATUS" of the Debian cluster on 5432.
pg_cluster_5432() {
	command -v pg_lsclusters >/dev/null || return 0
	pg_lsclusters -h 2>/dev/null | awk '$3 == 5432 { print $1, $2, $4; exit }'
}

pg_newest_installed() {
	local d best=""
	for d in /usr/lib/postgresql/*/bin/postgres; do
		[[ -x "$d" ]] || continue
		d="${d#/usr/lib/postgresql/}"
		d="${d%%/*}"
		if [[ -z "$best" ]] || ((d > best)); then best="$d"; fi
	done
	printf '%s' "$best"
}

pg_wait() {
	for _ in $(seq 1 60); do
		pg_ready_local && return 0
		sleep 0.5
	done
	return 1
}

pg_start_cluster() { # VERSION NAME
	say "启动 PostgreSQL $1/$2 / starting PostgreSQL cluster $1/$2"
	if have_systemd; then
		as_root systemctl start "postgresql@$1-$2"
	else
		as_root pg_ctlcluster --skip-systemctl-redirect "$1" "$2" start
	fi
}

# pg_ensure_local makes a PostgreSQL server answer on 127.0.0.1:5432 and
# prints nothing when one already does.
pg_ensure_local() {
	if pg_ready_local; then
		info "PostgreSQL 127.0.0.1:5432 正常 / is up"
		return 0
	fi
	if [[ -z "$(pg_newest_installed)" ]]; then
		say "未安装 PostgreSQL，开始安装 / PostgreSQL is not installed: installing it"
		apt_install postgresql postgresql-client
		pg_fresh=1
	fi
	local c ver name status
	c="$(pg_cluster_5432)"
	if [[ -z "$c" ]]; then
		ver="$(pg_newest_installed)"
		say "创建 PostgreSQL $ver/main 集群 / creating cluster $ver/main on port 5432"
		as_root pg_createcluster --port 5432 "$ver" main >/dev/null
		pg_fresh=1
		c="$ver main down"
	fi
	read -r ver name status <<<"$c"
	[[ "$status" == online ]] || pg_start_cluster "$ver" "$name"
	pg_wait || die "PostgreSQL $ver/$name 未能启动 / did not start on 127.0.0.1:5432" \
		"See /var/log/postgresql/postgresql-$ver-$name.log"
}

# pg_state prints "MAJOR ROOT_ROLES APP_DBS" of the server on 127.0.0.1:5432
# as seen by the password-less postgres role, and fails when it cannot log in.
pg_state() {
	psql "$pg_local_url" -XqAt -F ' ' -c "SELECT
		current_setting('server_version_num')::int / 10000,
		(SELECT count(*) FROM pg_roles WHERE rolname = 'root'),
		(SELECT count(*) FROM pg_database WHERE datname = '$pg_app_db')" 2>/dev/null
}

pg_ensure_postgis_pkg() {
	local ver="$1"
	if ((ver < 15)); then
		warn "PostgreSQL $ver 低于 15 / is older than 15, which SmartReg is built and tested on."
		warn "  Ubuntu 22.04 ships 14: add the PGDG apt repository" \
			"(/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh) and install postgresql-16."
	fi
	# Only a server installed from packages here can get the package here.
	[[ -x "/usr/lib/postgresql/$ver/bin/postgres" ]] || return 0
	if ! installed "postgresql-$ver-postgis-3"; then
		say "PostgreSQL $ver 缺少 PostGIS，开始安装 / installing PostGIS for PostgreSQL $ver"
		apt_install "postgresql-$ver-postgis-3"
	fi
}

pg_hba_marker="smartreg ensure-services"

# pg_allow_loopback puts the loopback trust lines (see the header) at the top
# of the local cluster's pg_hba.conf and reloads it.
pg_allow_loopback() {
	local hba
	if [[ -z "$(pg_cluster_5432)" ]] ||
		! hba="$(as_postgres psql -XqAt -p 5432 -c 'SHOW hba_file' 2>/dev/null)"; then
		die "无法以 postgres 用户无密码连接 / cannot log in as $pg_local_url" \
			"The server on 127.0.0.1:5432 is not a local Debian/Ubuntu cluster this script manages:" \
			"set DATABASE_URL (and TEST_DATABASE_URL for the tests) to a URL that logs in."
	fi
	if as_root grep -q "$pg_hba_marker" "$hba"; then
		die "无法以 postgres 用户无密码连接 / cannot log in as $pg_local_url" \
			"$hba already has the loopback trust lines; check the server log."
	fi
	if ((!pg_fresh)) && [[ "${SMARTREG_PG_TRUST:-}" != 1 ]]; then
		die "无法以 postgres 用户无密码连接 / cannot log in as $pg_local_url" \
			"The local server asks for a password on 127.0.0.1. Either set DATABASE_URL" \
			"(and TEST_DATABASE_URL for the tests) with a password, or rerun with" \
			"SMARTREG_PG_TRUST=1 to let this script add loopback 'trust' lines to $hba."
	fi
	say "允许本机回环免密码连接 / allowing password-less loopback connections in $hba"
	as_root sed -i "1i # $pg_hba_marker: loopback trust for local development\\
host all all 127.0.0.1/32 trust\\
host all all ::1/128 trust" "$hba"
	as_postgres psql -XqAt -p 5432 -c 'SELECT pg_reload_conf()' >/dev/null
	sleep 0.5
}

# pg_check_postgis URL proves CREATE EXTENSION postgis works there, leaving
# nothing behind: a database that has the extension already passes at once,
# any other gets it created inside a transaction that is rolled back (~1 s).
pg_check_postgis() {
	local url="$1" out
	if out="$(psql "$url" -XqAt -c "SELECT extversion FROM pg_extension WHERE extname = 'postgis'" 2>/dev/null)" &&
		[[ -n "$out" ]]; then
		info "PostGIS $out 已启用 / enabled in $(redact "$url")"
		return
	fi
	if ! out="$(psql "$url" -XqAt -v ON_ERROR_STOP=1 2>&1 <<-'SQL'
		BEGIN;
		CREATE EXTENSION IF NOT EXISTS postgis;
		SELECT postgis_lib_version();
		ROLLBACK;
	SQL
	)"; then
		die "PostGIS 不可用 / CREATE EXTENSION postgis fails on $(redact "$url"):" \
			"$out" \
			"The server needs the PostGIS package for its major version" \
			"(Debian/Ubuntu: postgresql-<major>-postgis-3) and a role allowed to create extensions."
	fi
	info "PostGIS ${out##*$'\n'} 可用 / works on $(redact "$url")"
}

redact() { sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

# pg_ensure_database URL creates the database a postgres:// URL names when
# the server answers but the database is not there yet, as `migrate` would
# (store.EnsureDatabase), so the PostGIS check below can run in it.
pg_ensure_database() {
	local url="$1" db admin
	[[ "$url" =~ ^postgres(ql)?:// ]] || return 0 # key=value DSNs are left to the operator
	psql "$url" -XqAtc 'SELECT 1' >/dev/null 2>&1 && return 0
	db="$(sed -E 's#^[a-z]+://[^/]*/?([^?]*).*#\1#' <<<"$url")"
	[[ -n "$db" && "$db" != postgres ]] || return 0
	[[ "$db" =~ ^[A-Za-z0-9_]+$ ]] || die "数据库名不合法 / database name \"$db\" in DATABASE_URL: use letters, digits and _"
	admin="$(sed -E 's#^([a-z]+://[^/?]*)/?[^?]*#\1/postgres#' <<<"$url")"
	if [[ "$(psql "$admin" -XqAtc "SELECT count(*) FROM pg_database WHERE datname = '$db'" 2>/dev/null)" == 0 ]]; then
		say "创建数据库 $db / creating database $db"
		psql "$admin" -XqAtc "CREATE DATABASE \"$db\"" >/dev/null ||
			die "无法创建数据库 / cannot create database $db on $(redact "$admin")"
	fi
}

ensure_postgres() {
	if ! command -v pg_isready >/dev/null || ! command -v psql >/dev/null; then
		apt_install postgresql-client
	fi
	if [[ -n "${DATABASE_URL:-}" ]]; then
		if pg_ready_url "$DATABASE_URL"; then
			info "复用 DATABASE_URL / reusing DATABASE_URL=$(redact "$DATABASE_URL")"
			pg_ensure_database "$DATABASE_URL"
			pg_check_postgis "$DATABASE_URL"
			return
		fi
		say "DATABASE_URL 不可达，检查本机 PostgreSQL / DATABASE_URL=$(redact "$DATABASE_URL") does not answer: checking the local server"
	fi
	pg_ensure_local
	local state major roots dbs
	if ! state="$(pg_state)"; then
		pg_allow_loopback
		state="$(pg_state)" || die "仍无法连接 / still cannot log in as $pg_local_url" \
			"Check the server's pg_hba.conf and log."
	fi
	read -r major roots dbs <<<"$state"
	pg_ensure_postgis_pkg "$major"
	if ((roots == 0)); then
		say "创建超级用户角色 root 及其数据库 / creating superuser role root and its database (plain psql as root)"
		psql "$pg_local_url" -XqAtc 'CREATE ROLE root SUPERUSER LOGIN' >/dev/null
		psql "$pg_local_url" -XqAtc 'CREATE DATABASE root OWNER root' >/dev/null 2>&1 || true
	fi
	if [[ -n "${DATABASE_URL:-}" ]]; then
		pg_ready_url "$DATABASE_URL" ||
			die "DATABASE_URL 不可达 / DATABASE_URL=$(redact "$DATABASE_URL") does not answer" \
				"Unset it to use the local server, or start the server it names."
		pg_ensure_database "$DATABASE_URL"
		pg_check_postgis "$DATABASE_URL"
		return
	fi
	if ((dbs == 0)); then
		say "创建数据库 $pg_app_db / creating database $pg_app_db"
		psql "$pg_local_url" -XqAtc "CREATE DATABASE $pg_app_db" >/dev/null
	fi
	pg_check_postgis "postgres://postgres@127.0.0.1:5432/$pg_app_db?sslmode=disable"
}

# ---------------------------------------------------------------- Redis

redis_ping() { [[ "$(redis-cli "$@" ping 2>/dev/null)" == PONG ]]; }

ensure_redis() {
	command -v redis-cli >/dev/null || apt_install redis-tools
	if [[ -n "${REDIS_URL:-}" ]]; then
		if redis_ping -u "$REDIS_URL"; then
			info "复用 REDIS_URL / reusing REDIS_URL=$(redact "$REDIS_URL")"
			return
		fi
		say "REDIS_URL 不可达，检查本机 Redis / REDIS_URL=$(redact "$REDIS_URL") does not answer: checking the local server"
	fi
	if redis_ping -h 127.0.0.1 -p 6379; then
		info "Redis 127.0.0.1:6379 正常 / is up"
	else
		command -v redis-server >/dev/null || {
			say "未安装 Redis，开始安装 / Redis is not installed: installing it"
			apt_install redis-server
		}
		if ! redis_ping -h 127.0.0.1 -p 6379; then
			say "启动 Redis / starting redis-server on 127.0.0.1:6379"
			if have_systemd && systemctl cat redis-server.service >/dev/null 2>&1; then
				as_root systemctl start redis-server
			else
				as_root mkdir -p /var/lib/redis /var/log/redis
				as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
					--save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
			fi
			for _ in $(seq 1 40); do
				redis_ping -h 127.0.0.1 -p 6379 && break
				sleep 0.25
			done
			redis_ping -h 127.0.0.1 -p 6379 ||
				die "Redis 未能启动 / redis-server did not answer on 127.0.0.1:6379" "See /var/log/redis/."
		fi
	fi
	if [[ -n "${REDIS_URL:-}" ]] && ! redis_ping -u "$REDIS_URL"; then
		die "REDIS_URL 不可达 / REDIS_URL=$(redact "$REDIS_URL") does not answer" \
			"Unset it to use the local Redis on 127.0.0.1:6379, or start the server it names."
	fi
}

# ---------------------------------------------------------------- S3 (versitygw)

# run_step SCRIPT runs a helper script beside this one; its output is shown
# when it fails or when it had something to do (not "already ...").
run_step() {
	local script="$here/$1" out
	if [[ ! -f "$script" ]]; then
		die "缺少脚本 / missing $script" "It installs or starts versitygw, the local S3 server."
	fi
	if ! out="$(bash "$script" 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "$1 失败 / failed"
	fi
	case "$out" in
	*"already installed"* | *"already answering"*) info "$out" ;;
	*) [[ -z "$out" ]] || printf '%s\n' "$out" | grep -v '^go: downloading' | sed 's/^/    /' ;;
	esac
}

ensure_s3() {
	command -v go >/dev/null || die "go 不在 PATH 中 / go is not on PATH" "versitygw is built with Go."
	run_step install-versitygw.sh
	run_step start-versitygw.sh
}

# ---------------------------------------------------------------- tools

ensure_tools() {
	local pkgs=(zbar-tools qrencode wrk tesseract-ocr
		chromium chromium-driver fonts-noto-cjk poppler-utils librsvg2-bin
		libreoffice-writer-nogui ffmpeg espeak-ng) p missing=()
	for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
	if ((${#missing[@]})); then
		if [[ " ${missing[*]} " == *" chromium "* ]] && grep -qi '^ID=ubuntu' /etc/os-release 2>/dev/null; then
			warn "Ubuntu 的 chromium 软件包需要 snap / on Ubuntu the chromium package is a snap wrapper;"
			warn "  it installs only where snapd runs (not in most containers)."
		fi
		apt_install "${missing[@]}"
	else
		info "工具已安装 / tools present: ${pkgs[*]}"
	fi
}

# ---------------------------------------------------------------- LiveKit

ensure_livekit() {
	command -v go >/dev/null || die "go 不在 PATH 中 / go is not on PATH" "livekit-server is built with Go."
	run_step install-livekit.sh
	run_step start-livekit.sh
}

# ---------------------------------------------------------------- build

# What building the platform needs besides Go: ocr-idcard links Tesseract
# through cgo, and reads Chinese with its chi_sim data. Always checked,
# since `up` builds the platform.
ensure_build_libs() {
	local pkgs=(libtesseract-dev libleptonica-dev tesseract-ocr-chi-sim) p missing=()
	for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
	if ((${#missing[@]})); then
		apt_install "${missing[@]}"
	else
		info "构建依赖已安装 / build libraries present: ${pkgs[*]}"
	fi
}

# ---------------------------------------------------------------- node

# The console's front end is built with npm (Vite needs Node.js 20.19+).
ensure_node() {
	if ! command -v npm >/dev/null; then
		apt_install nodejs npm
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if ((major < 20)); then
		warn "Node.js $(node --version 2>/dev/null) 过旧，控制台前端构建需要 20.19 以上 / the console build needs Node.js 20.19+"
		warn "  (e.g. from https://deb.nodesource.com or the distribution's backports)."
	else
		info "Node.js $(node --version) / npm $(npm --version)"
	fi
}

# ---------------------------------------------------------------- main

ensure_postgres
ensure_redis
ensure_node
ensure_build_libs
if ((want_s3)); then ensure_s3; fi
if ((want_tools)); then ensure_tools; fi
if ((want_livekit)); then ensure_livekit; fi
info "服务就绪 / services ready"
exit 0
