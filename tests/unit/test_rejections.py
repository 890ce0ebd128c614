"""The rows that keep rejected records: whatever was sent, PostgreSQL can hold them."""

from __future__ import annotations

from services.core.validation import Rejection
from services.store.models import RejectedRecord
from services.store.rejections import MAX_RECORD_ID_CHARS, rejection_rows


def test_a_record_id_longer_than_its_column_is_kept_only_in_the_payload() -> None:
    """PostgreSQL would refuse the whole row, and with it the rejection: ingest would answer
    503 to that request for ever, and the matcher would fail the batch it came in."""
    column = RejectedRecord.__table__.c.record_id.type
    assert column.length == MAX_RECORD_ID_CHARS  # type: ignore[attr-defined]
    long_id, fits = "x" * (MAX_RECORD_ID_CHARS + 1), "y" * MAX_RECORD_ID_CHARS
    rows = rejection_rows(
        "it",
        [
            Rejection(0, long_id, ("record_id: too long",), f'{{"record_id": "{long_id}"}}'),
            Rejection(1, fits, ("transfer_date: missing",), f'{{"record_id": "{fits}"}}'),
        ],
        "http",
    )
    assert [r["record_id"] for r in rows] == [None, fits]
    assert long_id in rows[0]["raw"]


def test_a_nul_character_becomes_a_replacement_character() -> None:
    (row,) = rejection_rows("it", [Rejection(0, "a\x00b", ("NUL",), '{"a": "\x00"}')], "kafka")
    assert (row["record_id"], row["raw"]) == ("a\ufffdb", '{"a": "\ufffd"}')
