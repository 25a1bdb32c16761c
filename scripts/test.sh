#!/usr/bin/env bash
# Install what the tests need (Debian packages, PyPI packages from pyproject.toml) and run the whole suite.
# Extra args go to pytest. CANARIA_REQUIRE_INTEGRATION=1 turns a missing real component into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v wrk >/dev/null || need+=(wrk)
command -v openssl >/dev/null || need+=(openssl)
command -v tmux >/dev/null || need+=(tmux)  # the live view is tested in a real terminal
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v kubectl >/dev/null || need+=(kubernetes-client)   # the outside client that keeps the k8s emulator honest
# Korean in the Chromium screenshots (dashboard, report) needs a CJK font, or Hangul draws as boxes
{ command -v fc-list >/dev/null && fc-list : family | grep -qi "Noto Sans CJK"; } || need+=(fonts-noto-cjk)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
    echo "test.sh: could not install ${need[*]} (not root?); integration tests needing them will skip or fail" >&2
  fi
fi
scripts/bootstrap.sh test >&2
# Two workers: most of the suite waits on real processes (holds, proxies, browsers), not on the CPU.
exec .venv/bin/python -m pytest -n "${CANARIA_TEST_WORKERS:-2}" "$@"
