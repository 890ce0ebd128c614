"""The overview kept per regime: computed once, served while a fresh one is taken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.review import overviews
from services.review.overviews import Overviews


class Counting:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, session: Any, scope: Any, regime: str) -> str:
        self.calls.append(regime)
        await self.release.wait()
        return f"{regime} #{len(self.calls)}"


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Counting:
    fake = Counting()

    @asynccontextmanager
    async def session() -> AsyncIterator[None]:
        yield None

    monkeypatch.setattr(overviews, "overview", fake)
    monkeypatch.setattr(overviews.db, "sessions", lambda engine: session)
    return fake


async def test_one_computation_for_concurrent_first_requests(counting: Counting) -> None:
    kept = Overviews(lambda: None, max_age_s=60)  # type: ignore[arg-type,return-value]
    first = asyncio.gather(kept.get("HT"), kept.get("HT"))
    await asyncio.sleep(0)
    counting.release.set()
    a, b = await first
    assert counting.calls == ["HT"]
    assert a.numbers == b.numbers == "HT #1"
    again = await kept.get("HT")
    assert again.numbers == "HT #1"
    assert counting.calls == ["HT"]


async def test_a_stale_overview_answers_while_a_fresh_one_is_taken(counting: Counting) -> None:
    kept = Overviews(lambda: None, max_age_s=0)  # type: ignore[arg-type,return-value]
    counting.release.set()
    assert (await kept.get("LY")).numbers == "LY #1"
    counting.release.clear()
    stale = await kept.get("LY")  # starts the refresh, does not wait for it
    assert stale.numbers == "LY #1"
    await asyncio.sleep(0)
    assert counting.calls == ["LY", "LY"]
    assert (await kept.get("LY")).numbers == "LY #1"  # still the kept one, one refresh
    await asyncio.sleep(0)
    assert counting.calls == ["LY", "LY"]
    counting.release.set()
    await asyncio.sleep(0.01)
    assert (await kept.get("LY")).numbers == "LY #2"
