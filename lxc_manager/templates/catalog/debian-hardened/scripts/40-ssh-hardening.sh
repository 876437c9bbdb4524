#!/usr/bin/env bash
# Applies the SSH hardening drop-in (written by the template's files) after checking the
# whole sshd configuration, so a mistake never locks anyone out.

DROP_IN=/etc/ssh/sshd_config.d/10-lxc-manager-hardening.conf

ensure_installed openssh-server
[[ -f $DROP_IN ]] || die "$DROP_IN is missing: the template's files were not written"
if ! grep -qE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
	# Older configurations lack the Include line; sshd reads the first value, so it goes first.
	sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
	log_info "sshd_config now includes /etc/ssh/sshd_config.d"
fi

# sshd -t needs its privilege separation directory, absent while socket activation waits.
install -d -m 0755 /run/sshd
if ! sshd -t; then
	die "the sshd configuration is invalid (see above); nothing was reloaded"
fi

effective=$(sshd -T -C user=root,host=localhost,addr=127.0.0.1)
# sshd -T prints prohibit-password under its older name, without-password.
for expected in "passwordauthentication no" "kbdinteractiveauthentication no" \
	"permitrootlogin (prohibit|without)-password"; do
	grep -qxE "$expected" <<<"$effective" ||
		die "sshd does not apply '$expected': another configuration file overrides it"
done

systemctl enable ssh.service >/dev/null 2>&1 || true
systemctl try-reload-or-restart ssh.service
log_info "SSH accepts keys only"
