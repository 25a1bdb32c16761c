"""Errors a user meets first say themselves in the reader's language at the CLI edge; their English words (what
tests and other tools match) stay exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from canaria.cli.main import app
from canaria.config import load_config, parse_config
from canaria.errors import ConfigError, PlatformError
from canaria.i18n.text import render

GOOD = """service: ion-api
platform:
  stable: {url: "http://127.0.0.1:9"}
  canary: {url: "http://127.0.0.1:9"}
"""


@pytest.mark.parametrize(("text", "english", "korean"), [
    ("service: [x\n", "invalid YAML: expected ',' or ']'", "YAML 형식이 잘못되었습니다"),
    ("", "the file is empty; run `canaria init` for an example", "파일이 비어 있습니다"),
    ("- a\n", "the top level must be a mapping of keys", "최상위는 키와 값의 매핑이어야 합니다"),
    ("service: x\n", "platform (line 1): Field required", "platform (1행): 필수 항목입니다"),
    (GOOD + "bogus: 1\n", "bogus (line 5): unknown key 'bogus'", "bogus (5행): 알 수 없는 키 'bogus'"),
    (GOOD + "state_dir: ${NO_SUCH_VAR_KO}\n", "environment variable NO_SUCH_VAR_KO is not set",
     "환경 변수 NO_SUCH_VAR_KO이(가) 설정되지 않았습니다"),
])
def test_config_errors_in_both_languages(text: str, english: str, korean: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    exc = caught.value
    assert english in str(exc) and render(exc.text, "en") == str(exc)
    assert korean in render(exc.text, "ko")


def test_an_error_without_a_key_reads_as_its_words() -> None:
    exc = PlatformError("something only the platform can say")
    assert render(exc.text, "ko") == render(exc.text, "en") == "something only the platform can say"


def test_the_cli_prints_the_error_in_the_commands_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    runner = CliRunner()
    korean = runner.invoke(app, ["status", "-c", str(missing), "--lang", "ko"])
    assert korean.exit_code == 2
    assert f"오류: config: {missing}이(가) 없습니다" in korean.output
    english = runner.invoke(app, ["status", "-c", str(missing)])  # no --lang, LANG=C: English, word for word
    assert english.exit_code == 2 and f"error: {caught.value}" in english.output
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert "오류: " in runner.invoke(app, ["status", "-c", str(missing)]).output


def test_check_names_in_korean_and_english_unchanged() -> None:
    from canaria.i18n.check_names import check_name

    assert check_name("stable: port 9001", "ko") == "안정 버전: 포트 9001"
    assert check_name("canary: start test", "ko") == "카나리: 시작 시험"
    assert check_name("gateway admin token", "ko") == "게이트웨이 관리 토큰"
    assert check_name("notify: team", "ko") == "알림: team"
    assert check_name("nginx: include", "ko") == "nginx: include"  # the tool's own words
    assert check_name("stable: port 9001", "en") == "stable: port 9001"
