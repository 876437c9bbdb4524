#!/usr/bin/env bash
set -euo pipefail
if [ -f /root/.flaky-attempted ]; then
  log_info "second attempt: all good"
  exit 0
fi
touch /root/.flaky-attempted
log_error "first attempt fails on purpose"
exit 3
