from __future__ import annotations

import orjson
import pytest

from services.core.validation import Accepted, BodyError, Rejection, decode_batch, validate_record
from tests.records import invalid_variants, record


def test_a_valid_record_has_no_reasons() -> None:
    assert validate_record(record()) == []


@pytest.mark.parametrize(
    ("i", "expected"),
    [
        (0, "record: 'transfer_date' is a required property"),
        (1, "route.destination: 'Haiti' does not match"),
        (2, "items[0].category: 'pistols' is not one of"),
        (3, "parties: [] should be non-empty"),
        (4, "transfer_date: '2024-13-45' is not a 'date'"),
    ],
)
def test_each_schema_violation_gets_a_readable_reason(i: int, expected: str) -> None:
    reasons = validate_record(invalid_variants(i))
    assert any(r.startswith(expected) for r in reasons), reasons


def test_unassigned_country_codes_are_rejected() -> None:
    rec = record()
    rec["route"]["transit"] = ["ZZ"]
    assert validate_record(rec) == [
        "route.transit[0]: 'ZZ' is not an ISO 3166-1 alpha-2 country code"
    ]


def test_an_item_needs_some_classification() -> None:
    rec = record()
    del rec["items"][0]["category"]
    assert validate_record(rec) == ["items[0]: an item needs a category, an hs_code or an ml_code"]
    rec["items"][0]["hs_code"] = "930200"
    assert validate_record(rec) == []


def test_single_object_array_and_ndjson_all_decode() -> None:
    one, two = record("a"), record("b")
    assert [o.index for o in decode_batch(orjson.dumps(one))] == [0]
    assert len(list(decode_batch(orjson.dumps([one, two])))) == 2
    nd = orjson.dumps(one) + b"\n\n" + orjson.dumps(two) + b"\n"
    outcomes = list(decode_batch(nd, "application/x-ndjson"))
    assert [type(o) for o in outcomes] == [Accepted, Accepted]
    # NDJSON sent as application/json is recognised too.
    assert len(list(decode_batch(nd, "application/json"))) == 2


def test_a_broken_ndjson_line_rejects_only_that_line() -> None:
    nd = orjson.dumps(record("a")) + b"\n{oops\n" + orjson.dumps(record("b"))
    outcomes = list(decode_batch(nd, "application/x-ndjson"))
    assert [type(o) for o in outcomes] == [Accepted, Rejection, Accepted]
    bad = outcomes[1]
    assert isinstance(bad, Rejection)
    assert bad.raw == "{oops"
    assert bad.reasons[0].startswith("line 2: malformed JSON")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"[{", "malformed JSON"),
        (b"42", "expected a JSON"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_bodies_raise_body_error(body: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=message):
        list(decode_batch(body))


def test_non_object_array_members_are_rejected_not_dropped() -> None:
    outcomes = list(decode_batch(b'[1, "x", null]'))
    assert len(outcomes) == 3
    assert all(isinstance(o, Rejection) for o in outcomes)


def test_a_nul_character_anywhere_is_a_reason_with_its_place() -> None:
    rec = record()
    rec["parties"][1]["name"] = "Caribbean\x00Import"
    rec["items"][0]["description"] = "\x00"
    assert validate_record(rec) == [
        "parties[1].name: contains a NUL character (\\u0000), which no text field can store",
        "items[0].description: contains a NUL character (\\u0000), which no text field can store",
    ]
    (rejected,) = decode_batch(orjson.dumps(rec))
    assert isinstance(rejected, Rejection)


def test_a_nul_character_in_a_key_is_a_reason_too() -> None:
    rec = record()
    rec["route"]["note\x00"] = "x"
    assert validate_record(rec) == [
        "route.note\\u0000: contains a NUL character (\\u0000), which no text field can store"
    ]
