"""The envelope on ``transfers.v1``: what the matcher takes for one, and what it refuses.

Whatever it takes reaches PostgreSQL's columns, so a field no column holds must make the
message malformed (kept as rejected) rather than fail the batch it came in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.broker import MAX_INTEGRATOR_CHARS, Envelope
from tests.records import record

RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_an_envelope_comes_back_as_it_was_sent() -> None:
    sent = Envelope("customs-ht", RECEIVED, record("r-1"))
    assert Envelope.decode(sent.encode()) == sent


def test_a_bare_record_is_one_from_integrator_kafka() -> None:
    got = Envelope.decode(orjson.dumps(record("r-1")))
    assert (got.integrator, got.record) == ("kafka", record("r-1"))


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"integrator": "i" * (MAX_INTEGRATOR_CHARS + 1)}, "integrator"),
        ({"integrator": 7}, "integrator"),
        ({"received_at": None}, "received_at"),
        ({"received_at": 1733043600}, "received_at"),
        ({"received_at": "2026-12-01T09:00:00"}, "received_at"),  # no time zone
        ({"received_at": "yesterday"}, "received_at"),
    ],
)
def test_an_envelope_with_a_field_no_column_holds_is_not_one(
    changes: dict[str, Any], why: str
) -> None:
    doc = {"integrator": "customs-ht", "received_at": RECEIVED.isoformat(), "record": record()}
    doc.update(changes)
    if doc["received_at"] is None:
        del doc["received_at"]
    with pytest.raises(ValueError, match=why):
        Envelope.decode(orjson.dumps(doc))
