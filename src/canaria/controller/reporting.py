"""The periodic status report ("배포 상태: 정상 (점수: 95/100) · 권장 조치: 계속 진행 · 다음 점검: 16:15").

The text itself is built by the pure `canaria.analysis.report`; this adapter gives it the clock's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from canaria.analysis.report import snapshot, status_report
from canaria.analysis.verdict import Verdict
from canaria.analysis.window import Window

__all__ = ["status_report_text"]


def status_report_text(window: Window, verdict: Verdict, *, next_check_at: float, lang: str,
                       history: Sequence[Window] | None = None, period_s: float = 300.0, stages: int | None = None,
                       pass_mark: int = 80) -> str:
    windows = list(history) if history else [window]
    return status_report(snapshot(windows, period_s=period_s, stages=stages), verdict,
                         next_check_at=datetime.fromtimestamp(next_check_at), lang=lang, pass_mark=pass_mark)
