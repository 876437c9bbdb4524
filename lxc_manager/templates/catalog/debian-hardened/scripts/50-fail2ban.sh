#!/usr/bin/env bash
# Starts fail2ban for SSH. Bans are nftables rules of the container's own network namespace;
# when netfilter cannot be used (the host's kernel lacks nf_tables), fail2ban is left off.

ensure_installed fail2ban python3-systemd nftables

if ! nft list tables >/dev/null 2>&1; then
	log_warn "nftables does not work in this container; fail2ban stays disabled"
	systemctl disable --now fail2ban.service >/dev/null 2>&1 || true
	exit 0
fi

fail2ban-client --test >/dev/null || die "the fail2ban configuration is invalid: run 'fail2ban-client --test'"
systemctl enable fail2ban.service
systemctl restart fail2ban.service

for _ in $(seq 1 20); do
	if fail2ban-client status sshd >/dev/null 2>&1; then
		log_info "fail2ban watches SSH (jail sshd is active)"
		exit 0
	fi
	sleep 1
done
die "fail2ban did not start its sshd jail: see 'journalctl -u fail2ban'"
