"""``ewatch up``'s stop: what it waits for and what it says, with the ledger's count
replaced by scripted answers (the real ones are in tests/integration/test_up.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from services.settings import Settings
from services.stack import supervisor


@dataclass
class FakeProcess:
    alive: bool = True

    def poll(self) -> int | None:
        return None if self.alive else 1


def stack(said: list[str], timeout: float = 30.0) -> supervisor.Stack:
    s = supervisor.Stack(Settings(drain_timeout_s=timeout), say=said.append)
    s.children = {"matcher": FakeProcess()}  # type: ignore[dict-item]
    s.db_url = "postgresql+psycopg://nowhere/none"
    return s


def kept(count: int) -> str:
    return (
        f"{count} accepted record(s) not screened yet stay in the ledger; the matcher "
        "publishes them again after the next start"
    )


def waiting(count: int) -> str:
    return f"waiting for the matcher to screen {count} accepted record(s); Ctrl-C again to stop now"


def script(monkeypatch: pytest.MonkeyPatch, answers: list[Any]) -> None:
    """Each count takes the next answer; an exception instance is raised instead."""
    it = iter(answers)

    def pending_records(_: str) -> int:
        answer = next(it)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    monkeypatch.setattr(supervisor, "pending_records", pending_records)
    monkeypatch.setattr(supervisor.time, "sleep", lambda _: None)


def test_it_waits_until_the_ledger_has_nothing_pending_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    script(monkeypatch, [10, 4, 4, 0])
    stack(said)._drain()
    assert said == [waiting(10), waiting(4)]


def test_nothing_pending_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    script(monkeypatch, [0])
    stack(said)._drain()
    assert said == []


def test_at_the_deadline_what_is_pending_is_said_to_stay_in_the_ledger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    script(monkeypatch, [3])
    stack(said, timeout=0.0)._drain()
    assert said == [kept(3)]


def test_a_matcher_that_died_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    s = stack(said)
    s.children["matcher"].alive = False  # type: ignore[attr-defined]
    script(monkeypatch, [7])
    s._drain()
    assert said == [kept(7)]


def test_a_second_ctrl_c_stops_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    s = stack(said)
    s.signals = 2
    script(monkeypatch, [10])
    s._drain()
    assert said == [kept(10)]


def test_a_database_that_does_not_answer_is_said_and_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    script(monkeypatch, [OperationalError("SELECT", {}, Exception("gone"))])
    stack(said)._drain()
    assert len(said) == 1
    assert said[0].startswith("could not count the pending records: ")
