"""The deployment records under `config.reports_path`, listed and served read-only.

Only regular files with a known extension, at most one folder deep, inside the reports folder after
resolving symlinks: a crafted name can never read anything else on the machine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MEDIA_TYPES", "ReportIndex"]

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
}
_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class ReportIndex:
    def __init__(self, root: Path, *, url_prefix: str = "/reports/") -> None:
        self.root = root
        self.url_prefix = url_prefix

    def _entry(self, file: Path) -> dict[str, Any]:
        name = file.relative_to(self.root).as_posix()
        stat = file.stat()
        return {"name": name, "url": self.url_prefix + name, "format": file.suffix.lstrip(".").lower(),
                "size": stat.st_size, "modified_at": stat.st_mtime, "rollout_id": None}

    def entries(self, rollout_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Newest first; `rollout_id` is filled when a known rollout id appears in the file's path."""
        if not self.root.is_dir():
            return []
        found: list[dict[str, Any]] = []
        for file in [*self.root.iterdir(), *(f for d in self.root.iterdir() if d.is_dir() for f in d.iterdir())]:
            try:
                if self._allowed(file):
                    found.append(self._entry(file))
            except OSError:
                continue
        for entry in found:
            for rid in rollout_ids or []:
                if rid in entry["name"]:
                    entry["rollout_id"] = rid
                    break
        found.sort(key=lambda e: (-e["modified_at"], e["name"]))
        return found

    def for_rollout(self, rollout_id: str) -> list[dict[str, Any]]:
        return [e for e in self.entries([rollout_id]) if e["rollout_id"] == rollout_id]

    def _allowed(self, file: Path) -> bool:
        rel = file.relative_to(self.root)
        if len(rel.parts) > 2 or not all(_PART.match(p) for p in rel.parts):
            return False
        if file.suffix.lstrip(".").lower() not in MEDIA_TYPES or not file.is_file():
            return False
        root = self.root.resolve()
        return file.resolve().is_relative_to(root)

    def resolve(self, name: str) -> Path | None:
        """The file for a served name, or None (unknown, hidden, outside the folder, wrong type)."""
        parts = name.split("/")
        if not 1 <= len(parts) <= 2 or not all(_PART.match(p) for p in parts):
            return None
        file = self.root.joinpath(*parts)
        try:
            return file if self._allowed(file) else None
        except (OSError, ValueError):
            return None
