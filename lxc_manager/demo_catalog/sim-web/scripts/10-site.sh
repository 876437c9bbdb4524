#!/usr/bin/env bash
set -euo pipefail
log_info "enabling nginx"
systemctl enable --now nginx
save_credential nginx ADMIN_TOKEN "$(generate_password 16)"
log_info "site ready"
