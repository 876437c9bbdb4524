#!/usr/bin/env bash
# Lets CONTAINER_USER (when it is not root and exists) use Docker without sudo.
# Members of the docker group are as powerful as root inside this container.

if [[ -z $CONTAINER_USER || $CONTAINER_USER == root ]]; then
	log_info "CONTAINER_USER is root: no one is added to the docker group"
	exit 0
fi
if ! id "$CONTAINER_USER" >/dev/null 2>&1; then
	log_warn "CONTAINER_USER $CONTAINER_USER does not exist: no one is added to the docker group"
	exit 0
fi
if grep -qx docker <<<"$(id -nG "$CONTAINER_USER" | tr ' ' '\n')"; then
	log_info "$CONTAINER_USER is already in the docker group"
else
	usermod -aG docker "$CONTAINER_USER"
	log_info "$CONTAINER_USER joined the docker group (takes effect at its next login)"
fi
