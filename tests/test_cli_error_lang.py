"""A config that does not load still names its language: its error is told in the `lang` the raw YAML asks for.

Order: --lang, then the file's top-level `lang` (when the YAML parses that far), then LANG. English stays
word for word the error's own text (other tools match it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canaria.config.lang_hint import declared_lang

BROKEN = """lang: {lang}
service: ion-api
platform:
  stable: {{url: "http://127.0.0.1:9"}}
  canary: {{url: "http://127.0.0.1:9"}}
unknown_key: 1
"""
ENGLISH = ("error: unknown_key (line 6): unknown key 'unknown_key' (check the spelling; see `canaria init` "
           "for every key)")
KOREAN = ("오류: unknown_key (6행): 알 수 없는 키 'unknown_key' (철자를 확인하세요. 모든 키는 `canaria init` 예시에 "
          "있습니다)")


def canaria(*args: str, cwd: Path, lang_env: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("LC_ALL", "LC_MESSAGES")}
    env.update({"LANG": lang_env, "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "canaria", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=60)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["status"], ["rollback", "--dry-run"], ["report"], ["gateway"], ["dashboard"]])
def test_a_broken_config_with_lang_ko_reports_in_korean(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "canaria.yaml").write_text(BROKEN.format(lang="ko"), encoding="utf-8")
    assert _one_error_line(canaria(*command, cwd=tmp_path)) == KOREAN


def test_lang_flag_beats_the_files_lang(tmp_path: Path) -> None:
    (tmp_path / "canaria.yaml").write_text(BROKEN.format(lang="ko"), encoding="utf-8")
    assert _one_error_line(canaria("status", "--lang", "en", cwd=tmp_path)) == ENGLISH
    (tmp_path / "canaria.yaml").write_text(BROKEN.format(lang="en"), encoding="utf-8")
    assert _one_error_line(canaria("status", "--lang", "ko", cwd=tmp_path)) == KOREAN


def test_the_files_lang_beats_LANG(tmp_path: Path) -> None:
    (tmp_path / "canaria.yaml").write_text(BROKEN.format(lang="en"), encoding="utf-8")
    assert _one_error_line(canaria("status", cwd=tmp_path, lang_env="ko_KR.UTF-8")) == ENGLISH


def test_unparseable_yaml_falls_back_to_LANG(tmp_path: Path) -> None:
    (tmp_path / "canaria.yaml").write_text("lang: ko\nservice: [ion-api\n", encoding="utf-8")
    english = _one_error_line(canaria("status", cwd=tmp_path))
    assert english.startswith("error: canaria.yaml (line 3): invalid YAML: "), english
    korean = _one_error_line(canaria("status", cwd=tmp_path, lang_env="ko_KR.UTF-8"))
    assert korean.startswith("오류: canaria.yaml (3행): YAML 형식이 잘못되었습니다: "), korean


@pytest.mark.parametrize(("text", "expected"), [
    ("lang: ko\nservice: 1\n", "ko"),
    ("lang: en\n", "en"),
    ("lang: fr\n", None),          # not a language canaria speaks: LANG decides
    ("lang: [ko]\n", None),
    ("- lang: ko\n", None),        # not a mapping
    ("lang: ko\nservice: [x\n", None),  # unparseable
    ("plan:\n  lang: ko\n", None),  # only the top level counts
    ("", None),
])
def test_declared_lang_reads_only_a_top_level_known_language(tmp_path: Path, text: str,
                                                             expected: str | None) -> None:
    path = tmp_path / "canaria.yaml"
    path.write_text(text, encoding="utf-8")
    assert declared_lang(path) == expected


def test_declared_lang_of_a_missing_or_binary_file_is_none(tmp_path: Path) -> None:
    assert declared_lang(tmp_path / "absent.yaml") is None
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00lang: ko")
    assert declared_lang(tmp_path / "binary.yaml") is None
