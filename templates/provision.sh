#!/bin/sh
# Makes any Debian-based image a caged template: installs what the base lacks (git, and the
# template's language runtime), and a non-root user `agent` with uid 1000 owning /workspace.
# Usage: provision.sh node|python
set -eu
runtime="$1"

missing=""
command -v git >/dev/null 2>&1 || missing="$missing git"
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"
case "$runtime" in
  node) command -v node >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
  python) command -v python3 >/dev/null 2>&1 || missing="$missing python3 python3-pip python3-venv" ;;
  *) echo "provision.sh: unknown runtime '$runtime'" >&2; exit 2 ;;
esac
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
  rm -rf /var/lib/apt/lists/*
fi

# Public Node images already have uid 1000 (`node`): rename it rather than fight over the uid.
existing=$(getent passwd 1000 | cut -d: -f1 || true)
if [ -n "$existing" ] && [ "$existing" != agent ]; then
  old_group=$(getent group 1000 | cut -d: -f1 || true)
  [ -n "$old_group" ] && [ "$old_group" != agent ] && groupmod -n agent "$old_group"
  usermod -l agent -d /home/agent -m "$existing"
elif [ -z "$existing" ]; then
  getent group 1000 >/dev/null 2>&1 || groupadd -g 1000 agent
  useradd -u 1000 -g 1000 -m -d /home/agent -s /bin/sh agent
fi
mkdir -p /workspace /home/agent
chown 1000:1000 /workspace /home/agent
chmod 0755 /workspace
