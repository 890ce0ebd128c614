"""``ewatch up``'s stop: what it waits for and what it says, with the broker and the matcher
replaced by scripted answers (the real ones are in tests/integration/test_up.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.progress import IngestProgress, MatcherProgress
from services.settings import Settings
from services.stack import supervisor


@dataclass
class FakeProcess:
    alive: bool = True

    def poll(self) -> int | None:
        return None if self.alive else 1


@dataclass
class FakeBroker:
    process: FakeProcess


def stack(said: list[str], timeout: float = 30.0) -> supervisor.Stack:
    s = supervisor.Stack(Settings(drain_timeout_s=timeout), say=said.append)
    s.broker = FakeBroker(FakeProcess())  # type: ignore[assignment]
    s.children = {"matcher": FakeProcess()}  # type: ignore[dict-item]
    s.bootstrap = "127.0.0.1:1"
    return s


def lost(count: int) -> str:
    return (
        f"{count} accepted record(s) not screened yet are lost with the embedded broker's "
        "memory storage; send them again after the next start"
    )


def script(monkeypatch: pytest.MonkeyPatch, backlog: list[Any], handled: list[Any]) -> None:
    """Each look-up takes the next answer; an exception instance is raised instead."""
    answers = iter(backlog)
    counts = iter(handled)

    async def topic_backlog(*_: object) -> tuple[int, int]:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    def matcher_progress(_: Settings) -> MatcherProgress:
        answer = next(counts)
        if isinstance(answer, Exception):
            raise answer
        return MatcherProgress(answer)

    monkeypatch.setattr(supervisor, "topic_backlog", topic_backlog)
    monkeypatch.setattr(supervisor, "matcher_progress", matcher_progress)
    monkeypatch.setattr(supervisor.time, "sleep", lambda _: None)


def test_it_waits_until_every_held_record_is_screened_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    script(monkeypatch, [(10, 10), (10, 4), (10, 0)], [0, 6, 10])
    stack(said)._drain()
    assert said == [
        "waiting for the matcher to screen 10 accepted record(s); Ctrl-C again to stop now",
        "waiting for the matcher to screen 4 accepted record(s); Ctrl-C again to stop now",
    ]


def test_screened_but_not_yet_committed_is_waited_for_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    script(monkeypatch, [(10, 3), (10, 0)], [10, 10])
    stack(said)._drain()
    assert said == []


def test_committed_is_not_enough_while_the_matcher_has_handled_fewer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faust can commit past a message it never handled: the matcher's count decides."""
    said: list[str] = []
    s = stack(said, timeout=0.0)
    script(monkeypatch, [(10, 0)], [8])
    s._drain()
    assert said == [lost(2)]


def test_a_failed_look_up_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    failures = [OSError("connection refused"), TimeoutError()]
    script(monkeypatch, [*failures, (5, 0)], [5])
    stack(said)._drain()
    assert said == []


def test_a_matcher_that_dies_while_waited_for_leaves_the_larger_count_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    s = stack(said)
    matcher = s.children["matcher"]

    def progress(_: Settings) -> MatcherProgress:
        matcher.alive = False  # type: ignore[attr-defined]
        return MatcherProgress(7)

    script(monkeypatch, [(10, 10)], [])
    monkeypatch.setattr(supervisor, "matcher_progress", progress)
    s._drain()
    assert said == [lost(10)]


def test_a_second_ctrl_c_stops_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    s = stack(said)
    s.signals = 2
    script(monkeypatch, [(10, 10)], [0])
    s._drain()
    assert said == [lost(10)]


def test_when_nothing_can_be_counted_it_says_it_could_not_tell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    said: list[str] = []
    s = stack(said, timeout=0.0)
    script(monkeypatch, [OSError("no broker")], [])
    s._drain()
    assert said == [
        "accepted records not screened yet, if any, are lost with the embedded broker's memory "
        "storage (could not count them: no broker)"
    ]


def test_a_broker_already_gone_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    s = stack(said)
    s.broker.process.alive = False  # type: ignore[union-attr]
    script(monkeypatch, [], [])
    s._drain()
    assert said == [
        "accepted records not screened yet, if any, are lost with the embedded broker's memory "
        "storage (the embedded broker had already stopped)"
    ]


def test_a_dead_matcher_is_judged_by_its_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    s = stack(said)
    s.children["matcher"].alive = False  # type: ignore[attr-defined]
    script(monkeypatch, [(10, 4)], [])
    s._drain()
    assert said == [lost(4)]


def test_at_the_deadline_the_larger_of_the_two_counts_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A count inflated by a message handled twice must not hide uncommitted ones."""
    said: list[str] = []
    s = stack(said, timeout=0.0)
    script(monkeypatch, [(10, 3)], [10])
    s._drain()
    assert said == [lost(3)]


def test_what_ingest_published_counts_where_the_broker_counts_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tansu's end offsets can stay short of what it acknowledged (seen: 1,454 for 1,500,
    all of them received by the matcher): what ingest says it published is waited for."""
    said: list[str] = []
    script(monkeypatch, [(1454, 0), (1454, 0)], [1494, 1500])
    stack(said)._drain(published=1500)
    assert said == [
        "waiting for the matcher to screen 6 accepted record(s); Ctrl-C again to stop now"
    ]


def test_the_published_count_is_read_from_what_ingest_leaves(tmp_path: Path) -> None:
    s = supervisor.Stack(Settings(data_dir=tmp_path), say=print)
    assert s._published() is None
    IngestProgress({0: 9, 1: 4, 3: 0}).leave(tmp_path)
    assert s._published() == 10 + 5 + 1
    IngestProgress.path(tmp_path).write_bytes(b'{"0": 9}')  # not the contract's shape
    assert s._published() is None


def test_the_matchers_count_is_read_from_its_progress_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def get(url: str, **_: object) -> httpx.Response:
        asked.append(url)
        body = b'{"schema": "matcher-progress.v1", "handled": 42}'
        return httpx.Response(200, content=body, request=httpx.Request("GET", url))

    monkeypatch.setattr(supervisor.httpx, "get", get)
    assert supervisor.matcher_progress(Settings(matcher_port=9999)) == MatcherProgress(42)
    assert asked == ["http://127.0.0.1:9999/progress"]
