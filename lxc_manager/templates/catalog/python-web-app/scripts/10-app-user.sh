#!/usr/bin/env bash
# Creates the system user "webapp" and the application's directories:
#   /opt/webapp/app   the code (root-owned: the service cannot modify it)
#   /opt/webapp/venv  the virtual environment (owned by webapp)
#   /etc/webapp       the environment file with the secret key (root:webapp, 0750)

APP_USER=webapp
APP_HOME=/opt/webapp

if ! id "$APP_USER" >/dev/null 2>&1; then
	useradd --system --user-group --home-dir "$APP_HOME" --no-create-home \
		--shell /usr/sbin/nologin --comment "Python web app" "$APP_USER"
	log_info "created the system user $APP_USER"
fi
install -d -m 0755 -o root -g root "$APP_HOME" "$APP_HOME/app"
install -d -m 0755 -o "$APP_USER" -g "$APP_USER" "$APP_HOME/venv"
install -d -m 0750 -o root -g "$APP_USER" /etc/webapp
