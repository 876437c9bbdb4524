#!/usr/bin/env bash
# Installs Docker Engine with the buildx and compose plugins and starts it. The daemon is
# restarted later only when /etc/docker/daemon.json changes.

DAEMON_JSON=/etc/docker/daemon.json
STAMP=/var/lib/lxc-manager/docker-daemon.json.sha256

ensure_installed docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin

if [[ -f $DAEMON_JSON ]]; then
	dockerd --validate --config-file "$DAEMON_JSON" >/dev/null ||
		die "$DAEMON_JSON is not a valid Docker daemon configuration"
fi

systemctl enable containerd.service docker.service docker.socket
if ! systemctl is-active --quiet docker.service; then
	systemctl start docker.service
	log_info "started Docker Engine"
fi

current=$(sha256sum "$DAEMON_JSON" 2>/dev/null | cut -d' ' -f1 || true)
previous=$(cat "$STAMP" 2>/dev/null || true)
if [[ $current != "$previous" ]]; then
	if [[ -n $previous ]]; then
		log_info "$DAEMON_JSON changed: restarting Docker Engine"
		systemctl restart docker.service
	fi
	install -d -m 0755 "$(dirname "$STAMP")"
	printf '%s\n' "$current" >"$STAMP"
fi
log_info "$(docker --version)"
log_info "$(docker compose version)"
