#!/usr/bin/env bash
# Create .venv and install canaria into it. Usage: scripts/bootstrap.sh [test]
# Works on a fresh Debian machine with only python3: installs python3-venv when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f /tmp/.canaria-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.canaria-apt-updated; fi
  as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    echo "bootstrap: installing python3-venv" >&2
    apt_install python3-venv python3-pip
    python3 -m venv .venv
  fi
fi
stamp=".venv/.canaria-installed-${extra:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  if [ "$extra" = test ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
  else
    .venv/bin/python -m pip install -q -e .
  fi
  touch "$stamp"
fi
