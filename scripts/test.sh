#!/usr/bin/env bash
# The one test command: `bash scripts/test.sh`.
#
# Installs what the suite needs when it is missing (idempotent: a second run installs nothing),
# builds the gateway, then runs every test — unit tests and the black-box suite, which starts the
# real gatehouse binary against real sshd, PostgreSQL and headless Chromium on loopback.
# Needs root (the tests run sshd and create a local test account) and Debian's apt.
# Extra arguments go to `cargo test` (e.g. `bash scripts/test.sh terminal::` to filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh must run as root: the suite starts sshd and creates a local test account" >&2
  exit 1
fi

# --- system packages -------------------------------------------------------------------------
packages=(openssh-server openssh-client postgresql redis-server slapd ldap-utils chromium asciinema
  python3-venv)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # slapd: no interactive configuration; postgresql: no default cluster (tests make their own).
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/ci.conf
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

# --- toolchain and JS packages -----------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target (the UI is built for it)"
  rustup target add wasm32-unknown-unknown
fi
browser=tests/browser
if [ ! -d "$browser/node_modules/playwright-core" ] \
  || [ "$browser/package-lock.json" -nt "$browser/node_modules/.package-lock.json" ]; then
  say "npm ci in $browser"
  (cd "$browser" && npm ci --no-audit --no-fund)
fi

# schemathesis (PyPI) fuzzes the OpenAPI document in the e2e suite (tests/tests/e2e/openapi.rs).
# Its own virtualenv, outside the work tree, (re)created only when the pinned version is missing.
schemathesis_version=4.32.5
schemathesis_venv=/var/cache/gatehouse-tests/schemathesis
if ! "$schemathesis_venv/bin/st" --version 2>/dev/null | grep -qx "st, version $schemathesis_version"; then
  say "installing schemathesis $schemathesis_version into $schemathesis_venv"
  rm -rf "$schemathesis_venv"
  mkdir -p "$(dirname "$schemathesis_venv")"
  /usr/bin/python3 -m venv "$schemathesis_venv"
  "$schemathesis_venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$schemathesis_version"
fi

# --- build, then test ----------------------------------------------------------------------------
say "building the gateway (the first build also builds the WASM UI: silent for a minute or two)"
cargo build --bin gatehouse

say "running the tests"
# Assertion messages carry what failed; backtraces only bury them.
export RUST_BACKTRACE="${GATEHOUSE_TEST_BACKTRACE:-0}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
cargo test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# cargo prints one `test result:` line per test binary; the last is often a doc-test run with
# nothing in it. Close with the totals over all of them.
awk '/^test result:/ {
       for (i = 1; i <= NF; i++) {
         if ($(i) ~ /^passed;?$/)  passed  += $(i-1)
         if ($(i) ~ /^failed;?$/)  failed  += $(i-1)
         if ($(i) ~ /^ignored;?$/) ignored += $(i-1)
       }
     }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
exit "$status"
