"""Records read from a file one at a time: NDJSON lines and CSV rows, decoded lazily,
numbered as the file is, every record decoded or rejected with a reason."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import pytest

from services.core.transfer_csv import csv_records
from services.core.validation import (
    Accepted,
    BodyError,
    Decoded,
    Rejection,
    check,
    decode_batch,
    ndjson_records,
)
from tests.records import record

HEADER = "record_id,transfer_date,origin,destination,end_user_name,category,description,quantity"


def pulled(lines: Iterable[bytes], count: list[int]) -> Iterator[bytes]:
    """``lines``, counting in ``count[0]`` how many the reader has taken."""
    for line in lines:
        count[0] += 1
        yield line


def outcome_key(o: Accepted | Rejection) -> tuple[Any, ...]:
    if isinstance(o, Rejection):
        return ("rejected", o.index, o.record_id, o.reasons, o.raw)
    return ("accepted", o.index, o.record)


def checked(items: Iterable[Decoded | Rejection]) -> list[Accepted | Rejection]:
    return [i if isinstance(i, Rejection) else check(i.index, i.obj, i.raw) for i in items]


def csv_lines(*rows: str) -> list[bytes]:
    return [f"{row}\r\n".encode() for row in (HEADER, *rows)]


def row(record_id: str, category: str = "small_arms.revolver_pistol", qty: str = "3") -> str:
    return f"{record_id},2024-11-20,US,HT,Caribbean Import Services SA,{category},x,{qty}"


def test_ndjson_lines_decode_as_the_ingest_decodes_a_whole_body() -> None:
    body = b"\n".join(
        [
            orjson.dumps(record("a")),
            b"",
            orjson.dumps(record("b")) + b"\r",
            b"{oops",
            b"[1, 2]",
            b"   ",
            orjson.dumps(record("c", transfer_date="2024-13-01")),
            orjson.dumps(record("d")),  # no newline at the end
        ]
    )
    streamed = checked(ndjson_records(io.BytesIO(body)))
    whole = list(decode_batch(body, "application/x-ndjson"))
    assert [outcome_key(o) for o in streamed] == [outcome_key(o) for o in whole]
    assert [o.index for o in streamed] == [0, 2, 3, 4, 6, 7]


def test_a_bad_line_in_the_middle_of_a_file_larger_than_a_read_buffer() -> None:
    good = orjson.dumps(record("r", items=[{**record()["items"][0], "description": "x" * 500}]))
    lines = [good] * 400
    lines[250] = b'{"record_id": "broken", '
    lines[300] = orjson.dumps(
        record("long", items=[{**record()["items"][0], "serial_numbers": ["S" * 90] * 1000}])
    )
    body = b"\n".join(lines) + b"\n"
    assert len(body) > 4 * io.DEFAULT_BUFFER_SIZE
    assert len(lines[300]) > io.DEFAULT_BUFFER_SIZE
    outcomes = checked(ndjson_records(io.BufferedReader(io.BytesIO(body), buffer_size=4096)))
    assert len(outcomes) == 400
    rejected = [o for o in outcomes if isinstance(o, Rejection)]
    assert [r.index for r in rejected] == [250]
    assert rejected[0].reasons[0].startswith("line 251: malformed JSON: ")
    long = outcomes[300]
    assert isinstance(long, Accepted)
    assert len(long.record["items"][0]["serial_numbers"]) == 1000


def test_ndjson_records_pull_one_line_per_record() -> None:
    count = [0]
    lines = [orjson.dumps(record(f"r{i}")) + b"\n" for i in range(5)]
    records = ndjson_records(pulled(lines, count))
    first = next(records)
    assert isinstance(first, Decoded)
    assert (first.index, count[0]) == (0, 1)
    next(records)
    assert count[0] == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the input is empty"),
        (b"\n  \n\r\n", "the input is empty"),
        (orjson.dumps(record()) + b'\n\n{"name": "Caf\xe9"}\n', "line 3 is not UTF-8 (byte 13)"),
    ],
)
def test_an_unreadable_ndjson_input_raises_naming_the_line(body: bytes, message: str) -> None:
    with pytest.raises(BodyError, match=re.escape(message)):
        list(ndjson_records(io.BytesIO(body)))


def test_adjacent_csv_rows_are_one_transfer_read_one_at_a_time() -> None:
    count = [0]
    lines = csv_lines(row("a"), row("a", "ammunition.small_arms", '"1,000"'), row("b"), row("c"))
    records = csv_records(pulled(lines, count))
    first = next(records)
    assert isinstance(first, Decoded)
    # The header, a's two rows, and b's row, which is how the reader knows a has ended.
    assert count[0] == 4
    assert first.index == 0
    assert [i["quantity"] for i in first.obj["items"]] == [3.0, 1000.0]
    assert [(r.index, r.obj["record_id"]) for r in records if isinstance(r, Decoded)] == [
        (1, "b"),
        (2, "c"),
    ]


def test_a_record_id_that_comes_back_after_other_records_is_rejected_with_its_lines() -> None:
    lines = csv_lines(
        row("a"),
        row("b").replace("Caribbean Import Services SA", '"Caribbean\nImport Services SA"'),
        "",
        row("a", "ammunition.small_arms"),
        row("a", "small_arms.assault_rifle"),
        row("c"),
    )
    outcomes = list(csv_records(io.BytesIO(b"".join(lines))))
    assert [type(o) for o in outcomes] == [Decoded, Decoded, Rejection, Decoded]
    repeat = outcomes[2]
    assert isinstance(repeat, Rejection)
    assert (repeat.index, repeat.record_id) == (2, "a")
    # The header is line 1, b's quoted name spans lines 3-4, line 5 is blank.
    assert repeat.reasons[0].startswith("lines 6-7: record_id 'a' came earlier in the file")
    assert len(orjson.loads(repeat.raw)["items"]) == 2


def test_csv_reasons_from_the_schema_come_from_check() -> None:
    (bad,) = checked(csv_records(csv_lines(row("a", qty="lots"))))
    assert isinstance(bad, Rejection)
    assert bad.record_id == "a"
    assert any(r.startswith("items[0].quantity: 'lots'") for r in bad.reasons), bad.reasons


def test_csv_with_a_byte_order_mark_and_odd_header_case() -> None:
    lines = csv_lines(row("a"))
    lines[0] = b"\xef\xbb\xbf" + lines[0].upper().replace(b"RECORD_ID", b" Record_ID ")
    (only,) = csv_records(lines)
    assert isinstance(only, Decoded)
    assert only.obj["record_id"] == "a"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the input is empty: no header row"),
        (
            [*csv_lines(row("a")), row("b").replace("x", "caf\xe9").encode("latin-1")],
            "line 3 is not UTF-8 (byte 78)",
        ),
        (
            csv_lines(row("a"), row("b").replace(",x,", f",{'x' * 200_000},")),
            "line 3: field larger than field limit",
        ),
    ],
)
def test_an_unreadable_csv_input_raises_naming_the_line(lines: list[bytes], message: str) -> None:
    with pytest.raises(BodyError, match=re.escape(message)):
        list(csv_records(lines))
