#!/usr/bin/env bash
# An OpenSSH server for the playground: one account that signs in by password, a host key made on
# first start, TCP forwarding on (a bastion forwards `direct-tcpip` channels for the gateway).
#
# The container image (deploy/sshd/Dockerfile) runs it as its entrypoint; scripts/playground.sh
# runs the same file inside network namespaces. Settings, all from the environment:
#   SSH_USER          the account (default: demo), created when missing
#   SSH_PASSWORD      its password (required)
#   SSH_PERMIT_OPEN   if set, the only `host:port` targets forwarded channels may open
#                     (a bastion that reaches only its private host), e.g. private-host:22
#   SSHD_LISTEN       address to listen on (default: 0.0.0.0)
#   SSHD_PORT         port (default: 22)
#   SSHD_DIR          where the config, host key and pid file live (default: /etc/ssh/playground)
set -euo pipefail

user="${SSH_USER:-demo}"
password="${SSH_PASSWORD:?SSH_PASSWORD must be set}"
listen="${SSHD_LISTEN:-0.0.0.0}"
port="${SSHD_PORT:-22}"
dir="${SSHD_DIR:-/etc/ssh/playground}"

mkdir -p "$dir" && chmod 0700 "$dir"
# sshd's privilege-separation directory; not configurable.
mkdir -p /run/sshd && chmod 0755 /run/sshd

if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$user"
fi
echo "$user:$password" | chpasswd

if [ ! -f "$dir/host_ed25519" ]; then
  ssh-keygen -q -t ed25519 -N '' -C "playground-$(hostname)" -f "$dir/host_ed25519"
fi

permit_open=""
if [ -n "${SSH_PERMIT_OPEN:-}" ]; then
  permit_open="PermitOpen ${SSH_PERMIT_OPEN}"
fi

cat > "$dir/sshd_config" <<CONFIG
ListenAddress ${listen}
Port ${port}
HostKey ${dir}/host_ed25519
PidFile ${dir}/sshd.pid
${permit_open}
AllowUsers ${user}
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
CONFIG

# The absolute path: sshd refuses to re-exec itself otherwise. -D: the listener stays this
# process (so a container or a pid file follows it); -e: log to stderr.
exec /usr/sbin/sshd -D -e -f "$dir/sshd_config"
