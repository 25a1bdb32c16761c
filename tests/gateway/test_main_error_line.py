"""`python -m canaria.gateway` stops on an error with the very line `canaria gateway` prints, in the same language
(--lang, else the config's `lang`, read from the raw YAML when the file does not load, else LANG)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canaria.gateway.__main__ import main


def _cli(args: list[str], lang: str) -> tuple[int, str]:
    env = {**os.environ, "LANG": lang, "COLUMNS": "400"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    result = subprocess.run([sys.executable, "-m", "canaria", "gateway", *args], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    return result.returncode, result.stderr.strip()


def _gateway(args: list[str], lang: str, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    monkeypatch.setenv("LANG", lang)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    code = main(args)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(("lang", "flag"), [("C.UTF-8", []), ("ko_KR.UTF-8", []), ("C.UTF-8", ["--lang", "ko"])])
def test_a_missing_config_reads_as_the_cli_says_it(lang: str, flag: list[str], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-c", str(tmp_path / "nope.yaml"), *flag]
    code, line = _gateway(args, lang, monkeypatch, capsys)
    assert (code, line) == _cli(args, lang)
    if flag or lang.startswith("ko"):
        assert line.startswith("오류: ") and "nope.yaml" in line, line
    else:
        assert line == (f"error: config: {tmp_path / 'nope.yaml'} not found; run `canaria init` to write an example, or pass "
                        "-c FILE")
    assert code == 2


def test_a_config_that_asks_for_korean_fails_in_korean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "canaria.yaml"
    path.write_text("service: ion-api\nlang: ko\nplatfrom: {}\n", encoding="utf-8")
    args = ["-c", str(path)]
    code, line = _gateway(args, "C.UTF-8", monkeypatch, capsys)
    assert (code, line) == _cli(args, "C.UTF-8")
    assert line == "오류: platform (1행): 필수 항목입니다"
