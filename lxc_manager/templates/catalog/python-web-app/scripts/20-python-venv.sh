#!/usr/bin/env bash
# Builds the virtual environment as the webapp user and installs requirements.txt into it.
# Debian 12 and Ubuntu 24.04 forbid pip in the system Python (PEP 668); a venv is the way.

APP_USER=webapp
VENV=/opt/webapp/venv
REQUIREMENTS=/opt/webapp/requirements.txt

ensure_installed python3 python3-venv
[[ -f $REQUIREMENTS ]] || die "$REQUIREMENTS is missing: the template's files were not written"

if [[ ! -x $VENV/bin/python ]]; then
	run_as_user "$APP_USER" python3 -m venv "$VENV"
	log_info "created the virtual environment $VENV"
fi
run_as_user "$APP_USER" "$VENV/bin/python" -m pip install --quiet --no-cache-dir \
	--disable-pip-version-check --requirement "$REQUIREMENTS"
log_info "installed $(run_as_user "$APP_USER" "$VENV/bin/gunicorn" --version) into $VENV"
