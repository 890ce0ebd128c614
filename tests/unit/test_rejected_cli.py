"""``ewatch rejected``: what is shown, and which rejections a replay may send again."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.broker import Envelope
from services.cli.rejected import Replay, as_json, payload, plan, replayed_label, shorten
from services.metrics import MatcherMetrics
from services.store.ledger import record_digest
from services.store.models import RejectedRecord
from services.store.rejections import (
    MAX_RAW_CHARS,
    REASON_KINDS,
    rejection_rows,
    replay_refusal,
    was_cut,
)
from tests.records import record

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def envelope(record_id: str = "r-1") -> str:
    return Envelope("customs-ht", T0, record(record_id)).encode().decode()


def rejected(raw: str | None = None, **fields: Any) -> RejectedRecord:
    """A rejection as the matcher keeps one for an internal error, with ``fields`` changed."""
    raw = envelope() if raw is None else raw
    values: dict[str, Any] = {
        "id": 7,
        "integrator": "customs-ht",
        "record_id": "r-1",
        "raw": raw[:MAX_RAW_CHARS],
        "raw_sha256": hashlib.sha256(raw.encode()).hexdigest(),
        "reasons": ["internal error while screening: KeyError('x')"],
        "source": "kafka",
        "reason_kind": "error",
        "first_seen_at": T0,
        "last_seen_at": T0,
        "times_seen": 1,
        "replayed_at": None,
        "times_replayed": 0,
    }
    values.update(fields)
    return RejectedRecord(**values)


def test_shorten_keeps_short_text_and_marks_what_it_cuts() -> None:
    assert (
        shorten("items[0].quantity: -3 is less\nthan 0") == "items[0].quantity: -3 is less than 0"
    )
    cut = shorten("x" * 100, width=20)
    assert len(cut) == 20
    assert cut.endswith("…")


def test_an_internal_error_kept_whole_is_replayed_as_read_keyed_by_record_id() -> None:
    row = rejected()
    planned = plan(7, row)
    assert planned == Replay(
        7, "customs-ht", "r-1", envelope().encode(), record_digest(record("r-1"))
    )
    assert replay_refusal(rejected(reason_kind="refused")) is None


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (rejected(reason_kind="schema", source="http"), "a schema rejection"),
        (rejected(reason_kind="malformed_json", source="http"), "must correct it"),
        (rejected(reason_kind="malformed"), "a malformed rejection"),
        (rejected(reason_kind="body", source="http"), "a body rejection"),
        (rejected(source="http"), "rejected at http"),
        (rejected(raw=envelope() + " " * MAX_RAW_CHARS), "cut at the 64 KiB kept"),
        (rejected(raw_sha256="0" * 64), "not byte for byte what was sent"),
        (rejected(record_id=None), "no record_id"),
        (rejected(reason_kind="mystery"), "not one a replay can cure"),
    ],
)
def test_what_a_replay_cannot_cure_is_refused_with_a_reason(row: RejectedRecord, why: str) -> None:
    refusal = plan(row.id, row)
    assert isinstance(refusal, str)
    assert why in refusal
    assert replay_refusal(row) == refusal


def test_an_unknown_id_and_a_payload_that_is_no_message_are_refused() -> None:
    assert plan(41, None) == "no rejected record has id 41"
    refusal = plan(7, rejected(raw="[1, 2]"))
    assert isinstance(refusal, str)
    assert refusal.startswith("its payload is not a message of the transfers topic")


def test_the_kind_given_is_kept_and_schema_is_the_default() -> None:
    from services.core.validation import Rejection

    rejections = [Rejection(0, "r-1", ("no",), "{}")]
    assert rejection_rows("it", rejections, "http")[0]["reason_kind"] == "schema"
    assert rejection_rows("it", rejections, "kafka", reason_kind="error")[0]["reason_kind"] == (
        "error"
    )


def test_payload_is_indented_json_or_as_kept_and_says_when_it_was_cut() -> None:
    text, about = payload(rejected())
    assert orjson.loads(text) == orjson.loads(envelope())
    assert text.startswith('{\n  "integrator"')
    assert "JSON shown indented" in about

    text, about = payload(rejected(raw="{not json"))
    assert (text, "not JSON" in about) == ("{not json", True)

    big = rejected(raw='{"a": "' + "x" * MAX_RAW_CHARS + '"}')
    assert was_cut(big)
    text, about = payload(big)
    assert len(text) == MAX_RAW_CHARS
    assert "cut, only the first 64 KiB" in about
    # Exactly the size kept but whole is not cut.
    whole = '"' + "x" * (MAX_RAW_CHARS - 2) + '"'
    assert not was_cut(rejected(raw=whole))


def test_replayed_says_how_often_and_whether_it_was_rejected_again() -> None:
    assert replayed_label(rejected()) == ""
    later = T0 + timedelta(minutes=5)
    assert replayed_label(rejected(replayed_at=later, times_replayed=1)) == "yes"
    assert replayed_label(rejected(replayed_at=later, times_replayed=3)) == "3×"
    again = rejected(replayed_at=later, times_replayed=1, last_seen_at=later + timedelta(1))
    assert replayed_label(again) == "yes, rejected again"


def test_list_json_has_the_reasons_in_full_and_whether_a_replay_is_refused() -> None:
    doc = as_json(rejected(reason_kind="schema", source="http", reasons=["a: b", "c: d"]))
    assert doc["reasons"] == ["a: b", "c: d"]
    assert "raw" not in doc
    assert doc["payload_cut"] is False
    assert doc["replay_refused"].startswith("a schema rejection")
    assert as_json(rejected())["replay_refused"] is None


def test_the_matcher_has_a_gauge_of_rejected_records_by_kind() -> None:
    metrics = MatcherMetrics()
    for kind in REASON_KINDS:
        metrics.rejected_records.labels(kind).set(2)
    value = metrics.registry.get_sample_value(
        "ewatch_matcher_rejected_records", {"reason_kind": "error"}
    )
    assert value == 2
