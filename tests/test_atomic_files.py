"""canaria.foundation.files: a replaced file keeps its mode, and a failed write leaves the old file and no temp."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaria.foundation.files import read_json_object, write_atomic


def test_a_replaced_file_keeps_its_mode_and_a_new_one_is_0644(tmp_path: Path) -> None:
    kept = tmp_path / "map"
    kept.write_text("old\n")
    kept.chmod(0o640)
    write_atomic(kept, "new\n")
    assert kept.read_text() == "new\n" and kept.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "sub" / "state.json"
    write_atomic(fresh, '{"a": 1}')
    assert fresh.stat().st_mode & 0o777 == 0o644 and read_json_object(fresh) == {"a": 1}


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "state.json"
    target.write_text('{"weight": 5}')

    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("canaria.foundation.files.os.fsync", full)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, '{"weight": 50}')
    assert read_json_object(target) == {"weight": 5}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_missing_unreadable_or_non_object_json_reads_as_empty(tmp_path: Path) -> None:
    assert read_json_object(tmp_path / "missing.json") == {}
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "bad.json").write_text("{nope")
    assert read_json_object(tmp_path / "list.json") == {} and read_json_object(tmp_path / "bad.json") == {}
