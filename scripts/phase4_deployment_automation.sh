#!/usr/bin/env bash
# The runbook's own command names, mapped onto canaria (see ../shared/seed/deployment-day-runbook.ko.md):
#   ./phase4_deployment_automation.sh check
#   ./phase4_deployment_automation.sh enable-canary --traffic 5
#   ./phase4_deployment_automation.sh metrics
#   ./phase4_deployment_automation.sh rollback [--dry-run|--force]
# Any other canaria command passes through (status, approve, run, ...). CANARIA_CONFIG picks the config file.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
if command -v canaria >/dev/null 2>&1; then canaria=(canaria)
elif [ -x "$here/.venv/bin/canaria" ]; then canaria=("$here/.venv/bin/canaria")
else echo "canaria is not installed: run $here/scripts/bootstrap.sh" >&2; exit 1; fi
cmd="${1:-}"
if [ -z "$cmd" ]; then
  echo "usage: $0 check|enable-canary --traffic N|metrics|rollback [--dry-run|--force]|status|approve|run" >&2
  exit 2
fi
shift
config=(-c "${CANARIA_CONFIG:-canaria.yaml}")
case "$cmd" in
  check|enable-canary|metrics|rollback|status|promote|approve|pause|resume|run|history|report|signoff|note|ack)
    exec "${canaria[@]}" "$cmd" "${config[@]}" "$@" ;;
  *) echo "unknown command: $cmd (use check, enable-canary, metrics, rollback, status, approve, run)" >&2; exit 2 ;;
esac
