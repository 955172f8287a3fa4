#!/usr/bin/env bash
# The benchmark: `bash scripts/bench.sh`. Builds the release gateway, then measures it against
# OpenSSH on loopback (terminal throughput, keystroke echo, memory) and prints a Markdown table.
# Needs root (it runs sshd) and the packages scripts/test.sh installs. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/bench.sh must run as root: it starts sshd and creates a local test account" >&2
  exit 1
fi
for tool in /usr/sbin/sshd ssh ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "missing $tool: run bash scripts/test.sh once" >&2; exit 1; }
done

echo "==> building the release gateway"
cargo build --release --bin gatehouse
echo "==> running the benchmark"
# No `-p`: the same package selection as the build above, so features resolve alike and the
# dependencies are not compiled a second time.
GATEHOUSE_BIN="$PWD/target/release/gatehouse" cargo bench --bench gateway "$@"
