#!/usr/bin/env bash
# The playground without Docker: `bash scripts/playground.sh [up|down|status]`.
#
# Builds on this machine the topology compose.playground.yml describes, with network namespaces
# instead of containers (docs/playground.md):
#
#   root namespace   Gatehouse (127.0.0.1:8443), OpenLDAP slapd, the webhook echo
#     ├─ ghpg-public   a public SSH host                  10.213.1.2
#     └─ ghpg-bastion  the bastion                        10.213.2.2
#          └─ ghpg-private  the private host              10.213.3.2, reachable only from the bastion
#
# Every SSH host is a real sshd (deploy/sshd/entrypoint.sh), the directory a real slapd seeded from
# deploy/openldap/seed.ldif, the webhook echo deploy/webhook-echo/echo.py; deploy/playground/
# provision.py registers the servers (the private one through the bastion) and the webhook through
# the REST API. `up` is idempotent (a running playground is left as it is); `down` stops every
# process it started, by PID, and deletes the namespaces, the route, the SSH account and the state.
#
# Needs root (namespaces, sshd) and Debian's apt for missing packages. Settings, from the
# environment: PLAYGROUND_PORT (8443), PLAYGROUND_BIND (127.0.0.1), PLAYGROUND_LDAP_PORT (3389),
# PLAYGROUND_ECHO_PORT (8089), PLAYGROUND_NET (10.213: the first two octets of the namespaces'
# /30s), PLAYGROUND_DIR (/var/tmp/gatehouse-playground), PLAYGROUND_BIN (a gatehouse binary;
# default: `cargo build --release` and target/release/gatehouse), PLAYGROUND_NAME (ghpg: the
# namespaces' and links' prefix) and PLAYGROUND_SSH_USER (gh-playground). The last two let a
# second instance (the e2e test's) run beside a person's playground without touching it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

port="${PLAYGROUND_PORT:-8443}"
bind="${PLAYGROUND_BIND:-127.0.0.1}"
ldap_port="${PLAYGROUND_LDAP_PORT:-3389}"
echo_port="${PLAYGROUND_ECHO_PORT:-8089}"
net="${PLAYGROUND_NET:-10.213}"
state="${PLAYGROUND_DIR:-/var/tmp/gatehouse-playground}"
name="${PLAYGROUND_NAME:-ghpg}"

# The same throwaway credentials as compose.playground.yml.
admin_password="playground-admin"
ssh_user="${PLAYGROUND_SSH_USER:-gh-playground}"
ssh_password="gh-playground-ssh"
# A file in the account's home says the playground made it: `down` deletes only such an account,
# and `up` refuses to take over an account of the same name that someone else made.
account_marker=".gatehouse-playground"

public_ns="$name-public"
bastion_ns="$name-bastion"
private_ns="$name-private"
# The root namespace's ends of the veth pairs (interface names: 15 characters at most).
public_link="$name-pub"
bastion_link="$name-bst"
public_ip="$net.1.2"
bastion_ip="$net.2.2"
private_ip="$net.3.2"
private_subnet="$net.3.0/30"

say() { printf '==> %s\n' "$*"; }
die() { printf 'playground: %s\n' "$*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run it as root: it creates network namespaces and runs sshd"
}

ensure_packages() {
  local missing=() pkg
  for pkg in iproute2 openssh-server slapd ldap-utils python3; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return
  say "installing ${missing[*]}"
  # slapd: no interactive configuration and no default directory (the playground makes its own).
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$state/$1.pid" 2>/dev/null || true; }

# Start a long-running process in the background, detached from this shell, its PID recorded in
# $state/NAME.pid and its output in $state/NAME.log. Every link of the chain (setsid, ip netns
# exec, env, the entrypoints) execs the next, so the recorded PID is the server itself.
start() {
  local name="$1"
  shift
  setsid "$@" >"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

wait_for() {
  local what="$1" tries=100
  shift
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "$what did not come up; see $state/*.log"
    sleep 0.1
  done
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
in_ns_tcp_open() { ip netns exec "$1" bash -c "(exec 3<>/dev/tcp/$2/$3) 2>/dev/null"; }

port_taken() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# --- down --------------------------------------------------------------------------------------
stop_pid() {
  local pid="$1" _
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

down() {
  local f ns
  # Gatehouse first, so its SSH connections close before the hosts go away.
  for f in gatehouse webhook-echo slapd sshd-public sshd-bastion sshd-private; do
    stop_pid "$(pid_of "$f")"
    rm -f "$state/$f.pid"
  done
  # Whatever else still runs in our namespaces is a child of our sshds (a session's shell).
  for ns in "$public_ns" "$bastion_ns" "$private_ns"; do
    for f in $(ip netns pids "$ns" 2>/dev/null); do
      stop_pid "$f"
    done
  done
  ip link del "$public_link" 2>/dev/null || true
  ip link del "$bastion_link" 2>/dev/null || true
  for ns in "$public_ns" "$bastion_ns" "$private_ns"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  ip route del unreachable "$private_subnet" 2>/dev/null || true
  if id -u "$ssh_user" >/dev/null 2>&1; then
    local home
    home="$(getent passwd "$ssh_user" | cut -d: -f6)"
    if [ -f "$home/$account_marker" ]; then
      userdel -r "$ssh_user" 2>/dev/null || userdel "$ssh_user" || true
    fi
  fi
  rm -rf "$state"
}

# --- up ----------------------------------------------------------------------------------------
running() {
  local f
  [ -f "$state/up" ] || return 1
  for f in gatehouse webhook-echo slapd sshd-public sshd-bastion sshd-private; do
    alive "$(pid_of "$f")" || return 1
  done
}

ensure_account() {
  if id -u "$ssh_user" >/dev/null 2>&1; then
    local home
    home="$(getent passwd "$ssh_user" | cut -d: -f6)"
    [ -f "$home/$account_marker" ] \
      || die "an account '$ssh_user' exists that the playground did not create: not touching it"
  else
    useradd --create-home --shell /bin/bash "$ssh_user"
    touch "$(getent passwd "$ssh_user" | cut -d: -f6)/$account_marker"
  fi
}

make_network() {
  ip netns add "$public_ns"
  ip netns add "$bastion_ns"
  ip netns add "$private_ns"
  local ns
  for ns in "$public_ns" "$bastion_ns" "$private_ns"; do
    ip -n "$ns" link set lo up
  done
  # root ↔ public host
  ip link add "$public_link" type veth peer name eth0 netns "$public_ns"
  ip addr add "$net.1.1/30" dev "$public_link"
  ip link set "$public_link" up
  ip -n "$public_ns" addr add "$public_ip/30" dev eth0
  ip -n "$public_ns" link set eth0 up
  # root ↔ bastion
  ip link add "$bastion_link" type veth peer name eth0 netns "$bastion_ns"
  ip addr add "$net.2.1/30" dev "$bastion_link"
  ip link set "$bastion_link" up
  ip -n "$bastion_ns" addr add "$bastion_ip/30" dev eth0
  ip -n "$bastion_ns" link set eth0 up
  # bastion ↔ private host: the only link the private host has. The bastion does not route
  # (no ip_forward in its namespace); its sshd forwards at the TCP level.
  ip -n "$bastion_ns" link add eth1 type veth peer name eth0 netns "$private_ns"
  ip -n "$bastion_ns" addr add "$net.3.1/30" dev eth1
  ip -n "$bastion_ns" link set eth1 up
  ip -n "$private_ns" addr add "$private_ip/30" dev eth0
  ip -n "$private_ns" link set eth0 up
  # From the root namespace the private subnet fails at once ("No route to host") instead of
  # following the default route off the machine.
  ip route add unreachable "$private_subnet"
}

start_sshd() {
  local name="$1" ns="$2" ip="$3" permit="${4:-}"
  start "sshd-$name" ip netns exec "$ns" env SSH_USER="$ssh_user" SSH_PASSWORD="$ssh_password" \
    SSH_PERMIT_OPEN="$permit" SSHD_LISTEN="$ip" SSHD_PORT=22 SSHD_DIR="$state/sshd-$name" \
    bash "$repo/deploy/sshd/entrypoint.sh"
}

gatehouse_binary() {
  if [ -n "${PLAYGROUND_BIN:-}" ]; then
    [ -x "$PLAYGROUND_BIN" ] || die "PLAYGROUND_BIN=$PLAYGROUND_BIN is not an executable"
    echo "$PLAYGROUND_BIN"
    return
  fi
  say "building gatehouse (cargo build --release; the first build takes several silent minutes)" >&2
  cargo build --release --bin gatehouse >&2
  echo "$repo/target/release/gatehouse"
}

print_info() {
  cat <<INFO

Gatehouse playground is up: http://$bind:$port/

  local admin:  admin / $admin_password
  LDAP users:   alice / alice-playground   (ops: the bastion and the private host)
                bob   / bob-playground     (dev: the public host)
                carol / carol-playground   (admin)
                dave  / dave-playground    (auditor)
  SSH hosts:    public-host  $public_ip
                bastion      $bastion_ip
                private-host $private_ip (through the bastion only)
                account $ssh_user / $ssh_password on each
  webhooks:     deliveries are printed to $state/webhook-echo.log
  logs:         $state/*.log
  stop:         bash scripts/playground.sh down
INFO
}

up() {
  if running; then
    say "the playground is already running"
    print_info
    return
  fi
  ensure_packages
  down # whatever a previous, interrupted run left behind
  port_taken "$port" && die "port $port is taken (set PLAYGROUND_PORT)"
  port_taken "$ldap_port" && die "port $ldap_port is taken (set PLAYGROUND_LDAP_PORT)"
  port_taken "$echo_port" && die "port $echo_port is taken (set PLAYGROUND_ECHO_PORT)"
  local bin
  bin="$(gatehouse_binary)"
  mkdir -p "$state/data"
  chmod 0700 "$state"

  say "network namespaces $public_ns, $bastion_ns, $private_ns"
  make_network
  ensure_account

  say "sshd on the public host, the bastion and the private host"
  start_sshd public "$public_ns" "$public_ip"
  start_sshd bastion "$bastion_ns" "$bastion_ip" "$private_ip:22"
  start_sshd private "$private_ns" "$private_ip"
  wait_for "the public host's sshd" tcp_open "$public_ip" 22
  wait_for "the bastion's sshd" tcp_open "$bastion_ip" 22
  wait_for "the private host's sshd" in_ns_tcp_open "$bastion_ns" "$private_ip" 22

  say "slapd on 127.0.0.1:$ldap_port"
  start slapd env LDAP_DIR="$state/ldap" LDAP_URLS="ldap://127.0.0.1:$ldap_port/" \
    bash "$repo/deploy/openldap/entrypoint.sh"
  wait_for "slapd" tcp_open 127.0.0.1 "$ldap_port"

  say "webhook echo on 127.0.0.1:$echo_port"
  start webhook-echo env ECHO_HOST=127.0.0.1 ECHO_PORT="$echo_port" PYTHONUNBUFFERED=1 \
    python3 "$repo/deploy/webhook-echo/echo.py"
  wait_for "the webhook echo" tcp_open 127.0.0.1 "$echo_port"

  say "gatehouse on $bind:$port"
  # A clean environment: no GATEHOUSE_* of the caller's shell leaks in, and no gatehouse.toml is
  # picked up from the working directory.
  (
    cd "$state"
    start gatehouse env -i PATH="$PATH" HOME="$state" NO_COLOR=1 \
      GATEHOUSE_BIND="$bind:$port" \
      GATEHOUSE_DATA_DIR="$state/data" \
      GATEHOUSE_ADMIN_PASSWORD="$admin_password" \
      GATEHOUSE_LDAP_URL="ldap://127.0.0.1:$ldap_port" \
      GATEHOUSE_LDAP_BIND_DN="cn=reader,dc=example,dc=org" \
      GATEHOUSE_LDAP_BIND_PASSWORD="reader-playground" \
      GATEHOUSE_LDAP_USER_BASE="ou=people,dc=example,dc=org" \
      GATEHOUSE_LDAP_GROUP_BASE="ou=groups,dc=example,dc=org" \
      GATEHOUSE_LDAP_GROUP_MAP='{ops="ops",dev="dev"}' \
      GATEHOUSE_LDAP_ADMIN_GROUPS='["gh-admins"]' \
      GATEHOUSE_LDAP_AUDITOR_GROUPS='["gh-auditors"]' \
      GATEHOUSE_MONITOR_INTERVAL_SECS=15 \
      GATEHOUSE_MONITOR_TIMEOUT_SECS=5 \
      GATEHOUSE_WEBHOOK_RETRY_BASE_SECS=5 \
      "$bin" serve
  )

  say "registering the servers and the webhook"
  local connect_host="$bind"
  [ "$connect_host" = "0.0.0.0" ] && connect_host=127.0.0.1
  if ! PLAYGROUND_URL="http://$connect_host:$port" \
    PLAYGROUND_ADMIN_PASSWORD="$admin_password" \
    PLAYGROUND_SSH_USER="$ssh_user" PLAYGROUND_SSH_PASSWORD="$ssh_password" \
    PLAYGROUND_PUBLIC_HOST="$public_ip" PLAYGROUND_BASTION_HOST="$bastion_ip" \
    PLAYGROUND_PRIVATE_HOST="$private_ip" \
    PLAYGROUND_WEBHOOK_URL="http://127.0.0.1:$echo_port/hook" \
    PLAYGROUND_WAIT_SECS=60 \
    python3 "$repo/deploy/playground/provision.py"; then
    die "provisioning failed (the playground is left running for a look: $state/*.log; \`down\` removes it)"
  fi
  touch "$state/up"
  print_info
}

status() {
  if running; then
    say "running"
    print_info
  else
    say "not running"
    return 1
  fi
}

require_root
[[ "$name" =~ ^[a-z][a-z0-9]{0,10}$ ]] || die "PLAYGROUND_NAME must be 1-11 lower-case letters or digits"
case "${1:-up}" in
  up) up ;;
  down) down; say "the playground is gone" ;;
  status) status ;;
  *) die "usage: scripts/playground.sh [up|down|status]" ;;
esac
