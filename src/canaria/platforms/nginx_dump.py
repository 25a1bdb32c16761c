"""Read `nginx -T`: which files the configuration includes, where an upstream is used, the log formats.

`nginx -T` prints every file nginx would load, each after a `# configuration file PATH:` line. A small
tokenizer (quoted strings, words, `;`, `{`, `}`, comments) is enough for the three questions
`canaria check` asks; it is not a full nginx parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["NginxDump", "parse_dump", "REQUIRED_LOG_FIELDS"]

#: What the access-log reader needs from a `log_format`.
REQUIRED_LOG_FIELDS = ("$upstream_addr", "$status", "$upstream_response_time", "$request_time")

_FILE_MARK = re.compile(r"^# configuration file (.+):\s*$")


@dataclass
class NginxDump:
    files: list[str] = field(default_factory=list)
    proxy_passes: list[tuple[str, str]] = field(default_factory=list)  # (file, target)
    log_formats: dict[str, str] = field(default_factory=dict)  # name -> the format's joined strings
    access_logs: list[tuple[str, str]] = field(default_factory=list)  # (path, format name)

    def includes(self, path: str) -> bool:
        return path in self.files

    def uses_upstream(self, target: str, *, outside: str | None = None) -> bool:
        """A `proxy_pass` names `target` (e.g. `http://$canaria_ion_api_upstream`), outside file `outside`."""
        wanted = target.rstrip("/")
        return any(t.rstrip("/").split("/", 3)[:3] == wanted.split("/", 3)[:3] and f != outside
                   for f, t in self.proxy_passes)

    def format_of(self, log_path: str) -> str | None:
        """The log_format text the access log at `log_path` is written with (None: no such access_log)."""
        for path, name in self.access_logs:
            if path == log_path:
                return self.log_formats.get(name)
        return None


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif ch in ";{}":
            out.append(ch)
            i += 1
        elif ch in "'\"":
            j = i + 1
            buf = []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            out.append("\x00" + "".join(buf))  # mark quoted so `;` inside stays text
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ";{}":
                j += 1
            out.append(text[i:j])
            i = j
    return out


def _split_files(dump: str) -> list[tuple[str, str]]:
    files: list[tuple[str, str]] = []
    current: str | None = None
    buf: list[str] = []
    for line in dump.splitlines():
        mark = _FILE_MARK.match(line)
        if mark:
            if current is not None:
                files.append((current, "\n".join(buf)))
            current, buf = mark.group(1), []
        elif current is not None:
            buf.append(line)
    if current is not None:
        files.append((current, "\n".join(buf)))
    return files


def parse_dump(dump: str) -> NginxDump:
    result = NginxDump()
    for path, text in _split_files(dump):
        result.files.append(path)
        statement: list[str] = []
        for token in _tokens(text):
            if token in (";", "{", "}"):
                if token == ";" and statement:
                    _statement(result, path, [t.lstrip("\x00") for t in statement])
                statement = []
            else:
                statement.append(token)
    return result


def _statement(result: NginxDump, path: str, words: list[str]) -> None:
    head = words[0]
    if head == "proxy_pass" and len(words) > 1:
        result.proxy_passes.append((path, words[1]))
    elif head == "log_format" and len(words) > 2:
        rest = words[2:]
        if rest and rest[0].startswith("escape="):
            rest = rest[1:]
        result.log_formats[words[1]] = "".join(rest)
    elif head == "access_log" and len(words) > 1:
        result.access_logs.append((words[1], words[2] if len(words) > 2 else "combined"))
