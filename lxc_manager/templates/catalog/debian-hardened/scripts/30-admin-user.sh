#!/usr/bin/env bash
# Creates the non-root administrator: CONTAINER_USER, or "admin" when that is root.
# It joins the sudo group and gets root's authorized SSH keys (the keys given when the
# container was created); its sudo password is generated once and saved as a credential of
# the ssh service.

ADMIN_USER="$CONTAINER_USER"
if [[ -z $ADMIN_USER || $ADMIN_USER == root ]]; then
	ADMIN_USER="admin"
fi

ensure_installed sudo

if ! id "$ADMIN_USER" >/dev/null 2>&1; then
	useradd --create-home --user-group --shell /bin/bash "$ADMIN_USER"
	log_info "created the administrator $ADMIN_USER"
fi
usermod -aG sudo "$ADMIN_USER"

home=$(getent passwd "$ADMIN_USER" | cut -d: -f6)
group=$(id -gn "$ADMIN_USER")
if [[ -s /root/.ssh/authorized_keys ]]; then
	install -d -m 0700 -o "$ADMIN_USER" -g "$group" "$home/.ssh"
	keys="$home/.ssh/authorized_keys"
	touch "$keys"
	added=0
	while IFS= read -r key || [[ -n $key ]]; do
		[[ -z $key || $key == \#* ]] && continue
		if ! grep -qxF -- "$key" "$keys"; then
			printf '%s\n' "$key" >>"$keys"
			added=$((added + 1))
		fi
	done </root/.ssh/authorized_keys
	chown "$ADMIN_USER:$group" "$keys"
	chmod 0600 "$keys"
	log_info "$ADMIN_USER has root's SSH keys ($added new)"
else
	log_warn "no SSH key was given for root: $ADMIN_USER can only be reached with 'pct enter' until you add a key to $home/.ssh/authorized_keys"
fi

# passwd -S: L = locked, NP = no password, P = usable password.
status=$(passwd -S "$ADMIN_USER" | awk '{print $2}')
if [[ $status != P ]]; then
	password=$(generate_password 24)
	printf '%s:%s\n' "$ADMIN_USER" "$password" | chpasswd
	save_credential ssh ADMIN_USER "$ADMIN_USER"
	save_credential ssh ADMIN_SUDO_PASSWORD "$password"
	log_info "sudo password of $ADMIN_USER generated and saved"
fi
