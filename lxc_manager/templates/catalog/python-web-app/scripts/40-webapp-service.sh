#!/usr/bin/env bash
# Starts webapp.service (gunicorn) and checks that the application answers.

systemctl daemon-reload
systemctl enable webapp.service
# A restart picks up a new unit file, new packages and a new secret key.
systemctl restart webapp.service
if ! wait_for_port 8000 127.0.0.1 30; then
	journalctl -u webapp.service -n 30 --no-pager >&2 || true
	die "webapp.service does not listen on 127.0.0.1:8000"
fi
curl -fsS --retry 5 --retry-connrefused --retry-delay 1 http://127.0.0.1:8000/healthz >/dev/null ||
	die "the application does not answer /healthz"
log_info "webapp.service answers on 127.0.0.1:8000"
