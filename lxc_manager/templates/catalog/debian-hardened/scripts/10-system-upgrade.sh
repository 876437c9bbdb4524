#!/usr/bin/env bash
# Brings every installed package up to date before anything is configured.
# Runs as root after the LXC Manager helper library (docs/templates.md).

apt_update
wait_for_apt_lock
log_info "upgrading installed packages"
# Keep configuration files the template writes (confold) and take the maintainer's
# version only where nobody changed the file (confdef).
apt-get -y -q \
	-o Dpkg::Options::=--force-confdef \
	-o Dpkg::Options::=--force-confold \
	dist-upgrade
apt-get -y -q autoremove --purge
apt-get -q clean
log_info "packages are up to date"
