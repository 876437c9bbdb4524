#!/usr/bin/env bash
# Generates the application's secret key once and keeps it on later runs. The service reads
# it from /etc/webapp/webapp.env; LXC Manager shows it with the webapp service.

ENV_FILE=/etc/webapp/webapp.env

secret=""
if [[ -f $ENV_FILE ]]; then
	secret=$(sed -n 's/^WEBAPP_SECRET_KEY=//p' "$ENV_FILE")
	secret=${secret%%$'\n'*}
fi
if [[ -z $secret ]]; then
	secret=$(generate_password 64)
	tmp=$(mktemp /etc/webapp/.webapp.env.XXXXXX)
	printf 'WEBAPP_SECRET_KEY=%s\n' "$secret" >"$tmp"
	if [[ -f $ENV_FILE ]]; then
		# Keep the other settings someone added.
		grep -v '^WEBAPP_SECRET_KEY=' "$ENV_FILE" >>"$tmp" || true
	fi
	mv -f "$tmp" "$ENV_FILE"
	log_info "generated the secret key"
else
	log_info "kept the existing secret key"
fi
chown root:webapp "$ENV_FILE"
chmod 0640 "$ENV_FILE"
save_credential webapp SECRET_KEY "$secret"
