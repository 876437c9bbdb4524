#!/usr/bin/env bash
# Adds Docker's apt repository: keyring in /etc/apt/keyrings, deb822 source, and removes
# the distribution's own Docker packages, which conflict with Docker's.

# Docker's release signing key, as published in Docker's installation guide.
DOCKER_KEY_FINGERPRINT=9DC858229FC7DD38854AE2D88D81803C0EBFCD88
KEYRING=/etc/apt/keyrings/docker.asc
SOURCES=/etc/apt/sources.list.d/docker.sources

ensure_installed ca-certificates curl gnupg

# shellcheck source=/dev/null
distro=$(. /etc/os-release; printf '%s' "${ID:-}")
# shellcheck source=/dev/null
codename=$(. /etc/os-release; printf '%s' "${VERSION_CODENAME:-}")
if [[ $distro != debian && $distro != ubuntu ]]; then
	die "Docker's apt repository is for Debian and Ubuntu; this container runs ${distro:-an unknown system}"
fi
[[ -n $codename ]] || die "/etc/os-release does not name the release (VERSION_CODENAME)"
arch=$(dpkg --print-architecture)

conflicting=()
for pkg in docker.io docker-doc docker-compose docker-compose-v2 podman-docker containerd runc; do
	if is_installed "$pkg"; then
		conflicting+=("$pkg")
	fi
done
if ((${#conflicting[@]})); then
	log_info "removing packages that conflict with Docker Engine: ${conflicting[*]}"
	wait_for_apt_lock
	apt-get remove -y -q "${conflicting[@]}"
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
curl -fsSL --retry 3 --proto '=https' "https://download.docker.com/linux/$distro/gpg" -o "$workdir/docker.asc"
fingerprints=$(GNUPGHOME="$workdir" gpg --batch --show-keys --with-colons "$workdir/docker.asc" |
	awk -F: '$1 == "fpr" { print $10 }')
if ! grep -qx "$DOCKER_KEY_FINGERPRINT" <<<"$fingerprints"; then
	die "the key downloaded from download.docker.com is not Docker's signing key ($DOCKER_KEY_FINGERPRINT)"
fi
install -d -m 0755 /etc/apt/keyrings
if ! cmp -s "$workdir/docker.asc" "$KEYRING"; then
	install -m 0644 "$workdir/docker.asc" "$KEYRING"
	log_info "installed Docker's signing key in $KEYRING"
fi

desired="Types: deb
URIs: https://download.docker.com/linux/$distro
Suites: $codename
Components: stable
Architectures: $arch
Signed-By: $KEYRING"
if [[ ! -f $SOURCES || $(<"$SOURCES") != "$desired" ]]; then
	printf '%s\n' "$desired" >"$SOURCES"
	log_info "added Docker's repository for $distro $codename ($arch)"
fi
# A one-line entry from an earlier manual installation would list the repository twice.
rm -f /etc/apt/sources.list.d/docker.list

apt_update --force
