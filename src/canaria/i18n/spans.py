"""Durations as an operator reads them, at the scale of the plan: "12 s", "1 min 30 s", "2 h 05 min".

A demo holds a stage for seconds and a production rollout for an hour; rounding both to minutes made the demo
read "0 min of 0 min left". The unit words come from the catalogue (`span.*` keys) so Korean reads "1분 30초".
Seconds are dropped from ten minutes up and minutes are zero-padded under hours, as people say a countdown.
"""

from __future__ import annotations

from canaria.i18n import t

__all__ = ["format_span"]


def format_span(seconds: float, lang: str = "en") -> str:
    """A non-negative duration in the largest units that still say something; negative input reads as 0 s."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return t("span.hours_minutes", lang, h=hours, m=f"{minutes:02d}")
    if minutes >= 10 or (minutes and not secs):
        return t("span.minutes", lang, m=minutes)
    if minutes:
        return t("span.minutes_seconds", lang, m=minutes, s=secs)
    return t("span.seconds", lang, s=secs)
