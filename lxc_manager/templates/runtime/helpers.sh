#!/usr/bin/env bash
# shellcheck shell=bash
#
# LXC Manager helper library.
#
# The provisioning pipeline puts this library (after exporting CONTAINER_OS and
# CONTAINER_USER) in front of every template script and runs the result as root with
# `bash -s` inside the container. docs/templates.md describes every function.
#
# Written for bash 4+ on Debian, Ubuntu and Alpine (once bash is installed). It sticks to a
# conservative subset (no arrays, no `case`) so the Proxmox VE simulator can run it too.

set -eo pipefail

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
export APT_LISTCHANGES_FRONTEND=none
# Ubuntu's needrestart would otherwise stop and ask which services to restart.
export NEEDRESTART_MODE=a
# The node's locale (forwarded by SSH) is rarely generated in a fresh container.
export LANG=C.UTF-8
export LC_ALL=C.UTF-8

_lxcm_detect_os() {
	local detected=""
	if [[ -r /etc/os-release ]]; then
		# shellcheck source=/dev/null
		detected=$(. /etc/os-release; printf '%s-%s' "${ID:-linux}" "${VERSION_ID:-unknown}")
	fi
	printf '%s\n' "${detected:-linux-unknown}"
}

: "${CONTAINER_OS:=$(_lxcm_detect_os)}"
: "${CONTAINER_USER:=root}"
: "${LXCM_CREDENTIALS_DIR:=/etc/lxc-manager/credentials}"
: "${LXCM_PREAMBLE_LINES:=0}"
export CONTAINER_OS CONTAINER_USER LXCM_CREDENTIALS_DIR
# Community scripts prefix noisy commands with `$STD`; empty means "show the output".
STD="${STD:-}"

# --- logging -------------------------------------------------------------------------------

_lxcm_log() {
	local level=$1 stamp line
	shift
	stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) || stamp="-"
	while IFS= read -r line; do
		printf '[%s] %s %s\n' "$level" "$stamp" "$line" >&2
	done <<<"$*"
}

# log_info MESSAGE...: `[INFO] 2024-05-01T12:00:00Z MESSAGE` on stderr (one record per line).
log_info() { _lxcm_log INFO "$@"; }
# log_warn MESSAGE...: a `[WARN]` record; the script goes on.
log_warn() { _lxcm_log WARN "$@"; }
# log_error MESSAGE...: an `[ERROR]` record; the script goes on (see die).
log_error() { _lxcm_log ERROR "$@"; }
# die MESSAGE...: log an error and end the script with status 1.
die() {
	log_error "$@"
	exit 1
}

# Names that scripts written for other LXC template collections commonly call.
msg_info() { log_info "$@"; }
msg_ok() { log_info "OK: $*"; }
msg_warn() { log_warn "$@"; }
msg_error() { log_error "$@"; }
log_warning() { log_warn "$@"; }
log_success() { log_info "OK: $*"; }
log_ok() { log_info "OK: $*"; }
fatal() { die "$@"; }

# An error that stops the script (set -e) names the command and its line in the script
# (the preamble's own lines are subtracted).
_lxcm_on_error() {
	local status=$1 line=$2 where
	# Only when errexit is on: then the failure ends the script (set +e scripts go on).
	[[ $- == *e* ]] || return 0
	if ((line > LXCM_PREAMBLE_LINES)); then
		where="line $((line - LXCM_PREAMBLE_LINES)) of the script"
	else
		where="the helper library (line $line)"
	fi
	log_error "command failed with exit status $status at $where${BASH_COMMAND:+: $BASH_COMMAND}"
}
trap '_lxcm_on_error "$?" "$LINENO"' ERR

# --- operating system ----------------------------------------------------------------------

# os_family: apt (Debian, Ubuntu and their derivatives), apk (Alpine) or unknown.
os_family() {
	if [[ $CONTAINER_OS == alpine* ]] || command -v apk >/dev/null 2>&1; then
		printf 'apk\n'
	elif command -v apt-get >/dev/null 2>&1; then
		printf 'apt\n'
	else
		printf 'unknown\n'
	fi
}

# is_installed PKG: true when the package is installed (dpkg or apk database); where there is
# no package database, true when a command of that name exists.
is_installed() {
	local pkg=${1:?is_installed needs a package name} status
	if command -v dpkg-query >/dev/null 2>&1; then
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) || status=""
		[[ $status == "install ok installed" ]]
		return
	fi
	if command -v apk >/dev/null 2>&1; then
		apk info -e "$pkg" >/dev/null 2>&1
		return
	fi
	command -v "$pkg" >/dev/null 2>&1
}

# wait_for_apt_lock [TIMEOUT]: wait (at most TIMEOUT seconds, default 300) until no process
# holds the dpkg/apt locks, e.g. apt-daily or unattended-upgrades right after the first boot.
wait_for_apt_lock() {
	local timeout=${1:-300} waited=0 holder
	[[ $timeout =~ ^[0-9]+$ ]] || die "wait_for_apt_lock: the timeout must be a number of seconds"
	while holder=$(_lxcm_apt_lock_holder) && [[ -n $holder ]]; do
		if ((waited >= timeout)); then
			log_error "the package manager is still locked after ${timeout}s ($holder)"
			return 1
		fi
		if ((waited % 30 == 0)); then
			log_info "waiting for the package manager lock ($holder)"
		fi
		sleep 2
		waited=$((waited + 2))
	done
	return 0
}

# Prints the first lock file some process holds open ("" when none).
_lxcm_apt_lock_holder() {
	local lock fd target
	for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock \
		/var/cache/apt/archives/lock /lib/apk/db/lock; do
		[[ -e $lock ]] || continue
		if command -v fuser >/dev/null 2>&1; then
			if fuser "$lock" >/dev/null 2>&1; then
				printf '%s\n' "$lock"
				return 0
			fi
			continue
		fi
		# No fuser (psmisc): look for an open descriptor on the lock in /proc.
		for fd in /proc/[0-9]*/fd/*; do
			target=$(readlink "$fd" 2>/dev/null) || continue
			if [[ $target == "$lock" ]]; then
				printf '%s\n' "$lock"
				return 0
			fi
		done
	done
	printf '\n'
}

_LXCM_APT_UPDATED=""

# apt_update: refresh the package lists (apt-get update or apk update), once per script
# unless called with --force (e.g. after adding a repository).
apt_update() {
	if [[ ${1:-} != "--force" && -n $_LXCM_APT_UPDATED ]]; then
		return 0
	fi
	if [[ $(os_family) == apk ]]; then
		apk update
	else
		wait_for_apt_lock
		apt-get update -q
	fi
	_LXCM_APT_UPDATED=1
}

# ensure_installed PKG...: install the packages that are missing (without recommends),
# after waiting for the package manager lock; installed ones are left alone.
ensure_installed() {
	local pkg
	[[ $# -gt 0 ]] || return 0
	for pkg in "$@"; do
		shift
		is_installed "$pkg" || set -- "$@" "$pkg"
	done
	if [[ $# -eq 0 ]]; then
		return 0
	fi
	log_info "installing $*"
	if [[ $(os_family) == apk ]]; then
		apk add --no-cache "$@"
		return
	fi
	if [[ -z $_LXCM_APT_UPDATED ]] && ! _lxcm_apt_lists_present; then
		apt_update
	fi
	wait_for_apt_lock
	if ! apt-get install -y -q --no-install-recommends "$@"; then
		log_warn "apt-get install failed; refreshing the package lists and retrying once"
		apt_update --force
		wait_for_apt_lock
		apt-get install -y -q --no-install-recommends "$@"
	fi
}

_lxcm_apt_lists_present() {
	local list
	for list in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do
		[[ -e $list ]] && return 0
	done
	return 1
}

# --- users ---------------------------------------------------------------------------------

# run_as_user USER CMD [ARG...]: run a command as USER with USER's HOME, from USER's home
# directory (or /); its exit status is returned.
run_as_user() {
	local user=${1:?run_as_user needs a user} home
	shift
	[[ $# -gt 0 ]] || die "run_as_user: no command given"
	home=$(_lxcm_home_of "$user")
	[[ -n $home ]] || die "run_as_user: no such user: $user"
	if [[ $(id -un) == "$user" ]]; then
		(cd "$home" 2>/dev/null || cd /; "$@")
		return
	fi
	if command -v runuser >/dev/null 2>&1; then
		(cd "$home" 2>/dev/null || cd /; runuser -u "$user" -- env HOME="$home" USER="$user" LOGNAME="$user" "$@")
		return
	fi
	# su runs a shell: quote every argument for it.
	(cd "$home" 2>/dev/null || cd /; su -s /bin/sh "$user" -c "$(_lxcm_shell_quote env HOME="$home" USER="$user" LOGNAME="$user" "$@")")
}

# Prints the home directory of a user ("" when there is no such user).
_lxcm_home_of() {
	local user=$1 line home=""
	if command -v getent >/dev/null 2>&1; then
		home=$(getent passwd "$user" | cut -d: -f6) || home=""
	elif [[ -r /etc/passwd ]]; then
		while IFS= read -r line; do
			if [[ ${line%%:*} == "$user" ]]; then
				IFS=: read -r _ _ _ _ _ home _ <<<"$line"
				break
			fi
		done </etc/passwd
	fi
	printf '%s\n' "$home"
}

# Quotes each argument for /bin/sh ('...' with embedded quotes as '\'').
_lxcm_shell_quote() {
	local arg out="" quote="'\\''"
	for arg in "$@"; do
		out="$out '${arg//\'/$quote}'"
	done
	printf '%s\n' "${out# }"
}

# --- secrets -------------------------------------------------------------------------------

# generate_password [LENGTH]: LENGTH (default 24, 8-256) random letters and digits.
generate_password() {
	local length=${1:-24} password="" chunk
	if ! [[ $length =~ ^[0-9]+$ ]] || ((length < 8 || length > 256)); then
		die "generate_password: the length must be a number from 8 to 256"
	fi
	while ((${#password} < length)); do
		chunk=$(head -c $((length * 4)) /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
		password="$password$chunk"
	done
	printf '%s\n' "${password:0:length}"
}

# save_credential SERVICE KEY VALUE: record KEY=VALUE in $LXCM_CREDENTIALS_DIR/SERVICE
# (default /etc/lxc-manager/credentials; directory mode 700, file mode 600), replacing an
# earlier value of KEY. LXC Manager shows these next to the service's unit of that name.
save_credential() {
	local service=${1:-} key=${2:-} value=${3-} dir file tmp line replaced=""
	[[ $# -eq 3 ]] || die "save_credential: usage: save_credential SERVICE KEY VALUE"
	[[ $service =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$ ]] ||
		die "save_credential: the service name is 1-64 letters, digits, _ . - (got '$service')"
	[[ $key =~ ^[A-Za-z_][A-Za-z0-9_]{0,63}$ ]] ||
		die "save_credential: the key is 1-64 letters, digits and _, not starting with a digit (got '$key')"
	if [[ $value == *$'\n'* || $value == *$'\r'* ]]; then
		die "save_credential: the value of $key cannot contain a line break"
	fi
	dir=$LXCM_CREDENTIALS_DIR
	file="$dir/$service"
	(umask 077 && mkdir -p "$dir")
	chmod 700 "$dir"
	tmp=$(umask 077; mktemp "$dir/.$service.XXXXXX")
	{
		if [[ -f $file ]]; then
			while IFS= read -r line || [[ -n $line ]]; do
				if [[ $line != "$key="* ]]; then
					printf '%s\n' "$line"
				elif [[ -z $replaced ]]; then
					printf '%s=%s\n' "$key" "$value"
					replaced=1
				fi
			done <"$file"
		fi
		if [[ -z $replaced ]]; then
			printf '%s=%s\n' "$key" "$value"
		fi
	} >"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$file"
}

# --- services ------------------------------------------------------------------------------

# wait_for_port PORT [HOST] [TIMEOUT]: wait until a TCP port accepts connections
# (default host 127.0.0.1, timeout 60 s).
wait_for_port() {
	local port=${1:?wait_for_port needs a port} host=${2:-127.0.0.1} timeout=${3:-60} waited=0
	until (exec 2>/dev/null && echo >"/dev/tcp/$host/$port"); do
		if ((waited >= timeout)); then
			log_error "nothing answers on $host:$port after ${timeout}s"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
}
