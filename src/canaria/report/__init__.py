"""The deployment record: `write_report` (HTML with inline SVG charts, Markdown, JSON), sign-off and notes."""

from __future__ import annotations

from canaria.report.record import SIGNOFF_ITEMS, add_note, add_signoff
from canaria.report.writer import FORMATS, write_report

__all__ = ["FORMATS", "SIGNOFF_ITEMS", "add_note", "add_signoff", "write_report"]
