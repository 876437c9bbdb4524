#!/usr/bin/env bash
# Sets the time zone and the default locale.
# Change the defaults here, or export LXCM_TIMEZONE / LXCM_LOCALE before this script.

TIMEZONE="${LXCM_TIMEZONE:-Etc/UTC}"
LOCALE="${LXCM_LOCALE:-en_US.UTF-8}"

ensure_installed tzdata locales

zone_file="/usr/share/zoneinfo/$TIMEZONE"
[[ -f $zone_file ]] || die "unknown time zone: $TIMEZONE (see /usr/share/zoneinfo)"
if [[ $(readlink -f /etc/localtime) != "$(readlink -f "$zone_file")" ]]; then
	ln -sfn "$zone_file" /etc/localtime
	log_info "time zone set to $TIMEZONE"
fi
printf '%s\n' "$TIMEZONE" >/etc/timezone

[[ $LOCALE == *.UTF-8 ]] || die "only UTF-8 locales are supported, not $LOCALE"
# `locale -a` spells en_US.UTF-8 as en_US.utf8.
if ! grep -qx "${LOCALE%.UTF-8}.utf8" <<<"$(locale -a)"; then
	if ! grep -qx "$LOCALE UTF-8" /etc/locale.gen; then
		# Uncomment the line if it is there, add it otherwise.
		sed -i "s/^#[[:space:]]*\(${LOCALE//./\\.} UTF-8\)[[:space:]]*$/\1/" /etc/locale.gen
		grep -qx "$LOCALE UTF-8" /etc/locale.gen || printf '%s UTF-8\n' "$LOCALE" >>/etc/locale.gen
	fi
	if [[ $CONTAINER_OS == ubuntu* ]]; then
		locale-gen "$LOCALE"
	else
		locale-gen
	fi
	log_info "locale $LOCALE generated"
fi
update-locale "LANG=$LOCALE"
log_info "default locale: $LOCALE"
