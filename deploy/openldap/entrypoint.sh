#!/usr/bin/env bash
# The playground's OpenLDAP directory: on first start builds slapd's cn=config from
# config.ldif.in and loads seed.ldif (people and groups), then runs slapd in the foreground.
#
# The container image (deploy/openldap/Dockerfile) runs it as its entrypoint;
# scripts/playground.sh runs the same file on the host. Settings, all from the environment:
#   LDAP_DIR            where the config, database and pid file live (default: /var/lib/playground-ldap)
#   LDAP_URLS           what slapd listens on (default: ldap:///, port 389 on every address)
#   LDAP_ROOT_PASSWORD  password of cn=root,dc=example,dc=org (default: root-playground)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${LDAP_DIR:-/var/lib/playground-ldap}"
urls="${LDAP_URLS:-ldap:///}"
root_password="${LDAP_ROOT_PASSWORD:-root-playground}"

if [ ! -d "$dir/slapd.d" ]; then
  mkdir -p "$dir/db"
  chmod 0700 "$dir"
  hash="$(/usr/sbin/slappasswd -s "$root_password")"
  sed -e "s|@DB_DIR@|$dir/db|" -e "s|@PID_FILE@|$dir/slapd.pid|" -e "s|@ROOT_PW@|$hash|" \
    "$here/config.ldif.in" > "$dir/config.ldif"
  mkdir "$dir/slapd.d"
  /usr/sbin/slapadd -n0 -F "$dir/slapd.d" -l "$dir/config.ldif"
  /usr/sbin/slapadd -n1 -F "$dir/slapd.d" -l "$here/seed.ldif"
fi

# -d 0: stay in the foreground (the listener is this process) and log nothing but errors.
exec /usr/sbin/slapd -d 0 -h "$urls" -F "$dir/slapd.d"
