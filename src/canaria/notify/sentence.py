"""One plain sentence per decision, the same in the terminal, dashboard, Slack, email and report.

The judge returns a Verdict whose reasons carry the measured values; this module turns the reason that drove
the decision into words an operator reads at a glance ("Rolled back at 5 % after 34 s: canary errors 13.8 %
vs stable 0.0 %; allowed: stable + 50 %"). The statistics (e-values, intervals) stay one level down, in
`why_lines`, so one threshold is shown one way.
"""

from __future__ import annotations

from typing import Any

from canaria.analysis.verdict import Decision, Reason, Severity, Verdict
from canaria.i18n import t
from canaria.i18n.messages import MESSAGES
from canaria.i18n.spans import format_span

__all__ = ["decision_sentence", "display_severity", "finding_text", "why_lines", "why_text"]

_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}
_METRICS = {"error_rate": "error_rate_pct", "error_rate_pct": "error_rate_pct", "p50": "p50_ms", "p95": "p95_ms",
            "p99": "p99_ms", "mean": "mean_ms", "memory": "memory_pct", "cpu": "cpu_pct", "slow_share": "slow_share"}


def _metric(reason: Reason) -> str:
    name = str(reason.params.get("detail") or reason.params.get("metric") or reason.check)
    for prefix in ("compare.", "trend.", "guardrail."):
        name = name.removeprefix(prefix)
    return _METRICS.get(name, name)


def _value(metric: str, value: float | None, lang: str) -> str:
    if value is None:
        return t("sentence.not_measured", lang)
    if metric.endswith("_ms"):
        return f"{value:.0f} ms"
    if metric in ("error_rate_pct", "slow_share", "memory_pct", "cpu_pct"):
        return f"{value:.1f} %"
    return f"{value:g}"


def _label(metric: str, lang: str) -> str:
    key = f"sentence.metric.{metric}"
    label = t(key, lang)
    return metric.removeprefix("custom:") if label == key else label


def finding_text(reason: Reason, lang: str) -> str:
    """The measured comparison of one finding: what canary did, what stable did, what is allowed."""
    metric = _metric(reason)
    label = _label(metric, lang)
    canary = _value(metric, reason.canary_value, lang)
    stable = _value(metric, reason.control_value, lang)
    if reason.key.startswith("compare.") or reason.check.startswith("compare."):
        tolerance = reason.params.get("tolerance", reason.threshold)
        allowed = t("sentence.allowed_relative", lang, pct=f"{float(tolerance or 0) * 100:.0f}")
        return t("sentence.finding", lang, metric=label, canary=canary, stable=stable, allowed=allowed)
    if reason.key.startswith("guardrail."):
        allowed = t("sentence.allowed_max", lang, max=_value(metric, reason.threshold, lang))
        streak = int(reason.params.get("streak") or 0)
        consecutive = int(reason.params.get("consecutive") or 1)
        if consecutive > 1 and streak:
            allowed += t("sentence.streak", lang, streak=streak, consecutive=consecutive)
        return t("sentence.finding", lang, metric=label, canary=canary, stable=stable, allowed=allowed)
    if reason.key == "hold.waiting":
        return t("sentence.hold", lang, left=format_span(float(reason.params.get("remaining_s", 0)), lang),
                 hold=format_span(float(reason.params.get("hold_s", 0)), lang))
    if reason.key in ("data.insufficient", "data.exhausted"):  # `need` is how many more the judge needs
        if "have" in reason.params and "need" in reason.params:
            return t("sentence.need_requests", lang, have=reason.params["have"], need=reason.params["need"])
    localized = t(reason.key, lang, **reason.params) if reason.key else ""
    return localized if localized and localized != reason.key else reason.message


def _driving(verdict: Verdict) -> Reason | None:
    """The worst finding that asks for this decision; passing checks (`*.ok`, `*.pass`) never drive one."""
    candidates = [r for r in verdict.reasons if not r.key.endswith((".ok", ".pass"))]
    driving = [r for r in candidates if r.decision == verdict.decision] or \
        [r for r in candidates if r.severity is not Severity.OK]
    return max(driving, key=lambda r: _RANK[r.severity]) if driving else None


def decision_sentence(verdict: Verdict, *, traffic: float, elapsed_s: float | None, lang: str,
                      final_stage: bool = False) -> str:
    """The decision in one sentence with its numbers, e.g. "Rolled back at 5 % after 34 s: …"."""
    reason = _driving(verdict)
    after = format_span(elapsed_s, lang) if elapsed_s is not None else ""
    pct = f"{traffic:g}"
    if verdict.decision is Decision.NO_GO:
        finding = finding_text(reason, lang) if reason else verdict.headline
        if elapsed_s is None:
            return t("sentence.nogo_now", lang, traffic=pct, finding=finding)
        return t("sentence.nogo", lang, traffic=pct, after=after, finding=finding)
    if verdict.decision is Decision.GO:
        key = "sentence.go_final" if final_stage else "sentence.go"
        return t(key if elapsed_s is not None else f"{key}_now", lang, traffic=pct, after=after)
    finding = finding_text(reason, lang) if reason else t("sentence.no_finding", lang)
    return t("sentence.observe", lang, traffic=pct, finding=finding)


def why_text(reason: Reason, lang: str) -> str:
    """One finding at the "why" level: the judge's own words in English; in another language the judge's
    catalogue sentence when it has one, else the plain finding with its numbers."""
    if lang == "en":
        return reason.message
    if reason.key and reason.key in MESSAGES.get(lang, {}):
        return t(reason.key, lang, **reason.params)
    return finding_text(reason, lang)


def why_lines(verdict: Verdict, *, limit: int = 4, lang: str = "en") -> list[str]:
    """The statistics behind the sentence (the judge's own words), worst first: one level down."""
    findings = sorted((r for r in verdict.reasons if r.severity is not Severity.OK),
                      key=lambda r: _RANK[r.severity], reverse=True)
    if lang != "en":
        return [why_text(r, lang) for r in findings[:limit]]
    return [r.message + (f" [{r.evidence}]" if r.evidence and r.evidence not in r.message else "")
            for r in findings[:limit]]


def display_severity(kind: str, severity: str, data: dict[str, Any] | None) -> str:
    """How loudly to tell people: a decision to keep holding with nothing wrong is information, not a warning."""
    if kind != "decision" or severity != "warning" or not data:
        return severity
    try:
        verdict = Verdict.from_dict(data)
    except (KeyError, ValueError, TypeError):
        return severity
    if verdict.decision is Decision.OBSERVE and not verdict.needs_human and \
            all(r.severity in (Severity.OK, Severity.INFO) for r in verdict.reasons):
        return "info"
    return severity
