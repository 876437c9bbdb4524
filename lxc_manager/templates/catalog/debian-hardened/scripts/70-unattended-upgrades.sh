#!/usr/bin/env bash
# Turns on the daily apt timers that run unattended-upgrades with the template's settings.

ensure_installed unattended-upgrades
for timer in apt-daily.timer apt-daily-upgrade.timer; do
	systemctl enable --now "$timer"
done
# Fails when the apt configuration written by the template does not parse.
apt-config dump >/dev/null
if [[ $(apt-config shell value APT::Periodic::Unattended-Upgrade) != "value='1'" ]]; then
	die "APT::Periodic::Unattended-Upgrade is not 1: another file in /etc/apt/apt.conf.d overrides it"
fi
log_info "security updates are installed automatically every day"
