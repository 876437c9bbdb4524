#!/usr/bin/env bash
# Applies the network sysctl drop-in and the journal size limits.

SYSCTL_FILE=/etc/sysctl.d/90-lxc-manager-hardening.conf

if [[ -f $SYSCTL_FILE ]]; then
	# Each setting is applied on its own: one refused by the kernel does not stop the rest.
	refused=0
	while IFS= read -r line; do
		line="${line%%#*}"
		[[ $line == *=* ]] || continue
		key="${line%%=*}"
		key="${key//[[:space:]]/}"
		value="${line#*=}"
		value="${value#"${value%%[![:space:]]*}"}"
		value="${value%"${value##*[![:space:]]}"}"
		if ! sysctl -q -w "$key=$value" >/dev/null 2>&1; then
			refused=$((refused + 1))
			log_warn "the kernel refused $key=$value in this container"
		fi
	done <"$SYSCTL_FILE"
	log_info "network sysctl settings applied ($refused refused)"
fi

install -d -m 2755 -g systemd-journal /var/log/journal
systemctl restart systemd-journald.service
log_info "journal limited to 200 MB: $(journalctl --disk-usage)"
