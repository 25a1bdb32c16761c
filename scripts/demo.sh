#!/usr/bin/env bash
# Run the demo: the runbook's canary plan on the bundled sample service. Extra args go to `canaria demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >&2
exec .venv/bin/canaria demo "$@"
