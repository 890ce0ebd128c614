"""Findings to review, made by the real core and stored by the real store: the demo feed's
Haiti transfers, a Libya transfer sharing their exporter, a party name holding HTML, a
designated party."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from services.core.context import Context
from services.core.resources import ROOT
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.knowledge import context_from_files
from services.store import db
from services.store.outcomes import Delivery, Screening
from services.store.screenings import record_screenings

HTML_NAME = '<script>alert("x")</script><b>Bold</b> Trading & Co'


def _demo() -> list[dict[str, Any]]:
    lines = (ROOT / "samples" / "demo-feed.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines][:6]  # the seventh is invalid on purpose


def records() -> list[dict[str, Any]]:
    demo = _demo()
    libya = copy.deepcopy(demo[0])
    libya.update(record_id="ly-001", route={"origin": "IT", "destination": "LY"})
    libya["parties"][1:] = [
        {
            "role": "end_user",
            "name": "Tripoli Security Services",
            "country": "LY",
            "type": "company",
        }
    ]
    html = copy.deepcopy(demo[0])
    html.update(record_id="html-001", route={"origin": "US", "destination": "HT"})
    html["parties"][1:] = [
        {"role": "end_user", "name": HTML_NAME, "country": "HT", "type": "company"}
    ]
    designated = copy.deepcopy(demo[0])
    designated.update(record_id="des-001", transfer_date="2024-03-02")
    designated["parties"][1:] = [
        {"role": "end_user", "name": "Jimmy Chérizier", "country": "HT", "type": "individual"}
    ]
    return [*demo, libya, html, designated]


@cache
def context() -> Context:
    return context_from_files(None, None)


def screenings(recs: list[dict[str, Any]] | None = None) -> list[Screening]:
    now = datetime.now(UTC)
    return [
        Screening(r, screen(parse_transfer(r), context()), Delivery("demo", now))
        for r in (recs if recs is not None else records())
    ]


async def store_findings(url: str, recs: list[dict[str, Any]] | None = None) -> None:
    engine = db.async_engine(url)
    try:
        async with db.sessions(engine).begin() as session:
            await record_screenings(
                session,
                screenings(recs),
                ruleset_version=1,
                list_version=context().list_version,
            )
    finally:
        await engine.dispose()
