"""The names of `canaria check`'s lines in the reader's language; the names themselves stay English (the
`--json` output and the deployment record keep them), only what people read changes."""

from __future__ import annotations

from canaria.i18n import t

__all__ = ["check_name"]

_NAMES = {"config": "check.name.config", "dependencies": "check.name.dependencies", "command": "check.name.command",
          "start test": "check.name.start_test", "gateway": "check.name.gateway",
          "gateway public port": "check.name.gateway_public_port", "gateway admin port": "check.name.gateway_admin_port",
          "gateway admin token": "check.name.gateway_admin_token", "notify": "check.name.notify",
          "stable": "health.name.stable", "canary": "health.name.canary", "metrics": "check.name.metrics",
          "gateway measurements": "check.name.gateway_measurements", "access log": "check.name.access_log",
          "stable Deployment available": "check.name.stable_deployment", "traffic split": "check.name.traffic_split"}


def check_name(name: str, lang: str) -> str:
    """A check's name as the reader says it ("stable: port 9001" → "안정 버전: 포트 9001"); unknown parts as
    they are (platform checks name the tool: "nginx: include")."""
    if lang == "en":
        return name
    head, sep, rest = name.partition(": ")
    if sep and head in ("stable", "canary", "notify", "metrics"):
        return f"{check_name(head, lang)}: {check_name(rest, lang)}"
    variant, _, what = name.partition(" ")
    if what == "memory" and variant in ("stable", "canary"):
        return t("check.name.memory", lang, variant=check_name(variant, lang))
    if name in _NAMES:
        return t(_NAMES[name], lang)
    if name.startswith("port ") and name[5:].isdigit():
        return t("check.name.port", lang, port=name[5:])
    return name
