"""The transition table is the only place that says what may follow what."""

from __future__ import annotations

import pytest

from canaria.controller.phases import TRANSITIONS, Phase, check_transition, is_terminal
from canaria.errors import StateError


def test_terminal_phases_lead_nowhere() -> None:
    assert {p for p in Phase if is_terminal(p)} == {Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED}
    for phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED):
        for target in Phase:
            with pytest.raises(StateError):
                check_transition(phase, target)


def test_every_live_phase_can_roll_back_or_fail() -> None:
    for phase in Phase:
        if not is_terminal(phase) and phase is not Phase.ROLLING_BACK:
            check_transition(phase, Phase.ROLLING_BACK)
        if not is_terminal(phase):
            check_transition(phase, Phase.FAILED)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Phase.PENDING, Phase.SUCCEEDED),
        (Phase.PROGRESSING, Phase.SUCCEEDED),  # success only through promoting
        (Phase.ROLLING_BACK, Phase.PROGRESSING),  # a rollback is never undone
        (Phase.PENDING, Phase.AWAITING_APPROVAL),
    ],
)
def test_illegal_moves_are_refused_with_a_clear_message(current: Phase, target: Phase) -> None:
    with pytest.raises(StateError, match="not possible while the rollout is"):
        check_transition(current, target, action="test")


def test_every_phase_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Phase)


def test_plain_commands_run_without_a_shell() -> None:
    from canaria.platforms.processes import command_argv

    assert command_argv("/usr/bin/python3 -m app --port 9001") == ["/usr/bin/python3", "-m", "app", "--port", "9001"]
    assert command_argv("exec python3 app.py") == ["python3", "app.py"]
    assert command_argv("cd srv && ./run") == "cd srv && ./run"
    assert command_argv("PORT=1 ./run") == "PORT=1 ./run"
