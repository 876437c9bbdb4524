#!/usr/bin/env bash
# Enables the nginx site that proxies port 80 to the application, after nginx -t approves.

SITE=/etc/nginx/sites-available/webapp

ensure_installed nginx
[[ -f $SITE ]] || die "$SITE is missing: the template's files were not written"
ln -sfn "$SITE" /etc/nginx/sites-enabled/webapp
# The stock site also claims default_server on port 80.
if [[ -L /etc/nginx/sites-enabled/default ]]; then
	rm -f /etc/nginx/sites-enabled/default
	log_info "disabled nginx's default site"
fi
nginx -t -q || die "the nginx configuration is invalid (see above); nginx was not reloaded"
systemctl enable nginx.service
if systemctl is-active --quiet nginx.service; then
	systemctl reload nginx.service
else
	systemctl start nginx.service
fi
# A reload returns before the new workers run: until then the old site answers (a 404
# from the stock site), so every error is retried, not only refused connections.
curl -fsS --retry 10 --retry-all-errors --retry-delay 1 http://127.0.0.1/healthz >/dev/null ||
	die "nginx does not pass requests to the application"
log_info "nginx serves the application on port 80"
