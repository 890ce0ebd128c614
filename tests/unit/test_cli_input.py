"""The CLI's answers to input it cannot use: a one-line reason and exit code 2 (usage) or 1,
never a traceback. Nothing here needs a running stack."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.cli.client import content_type_of
from tests.records import record
from tests.unit.test_screen_cli import ewatch


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["", "--list", "README.md"], "NAME is empty"),
        (["Kim", "--date", "20241120"], "--date '20241120' is not a date (YYYY-MM-DD)"),
        (["Kim", "--dob", "1977-02-30"], "--dob '1977-02-30' is not a date"),
        (["Kim", "--dob", "abc"], "--dob 'abc' is not a date"),
        (["Kim", "--country", "XX"], "--country 'XX' is neither an ISO alpha-2 code"),
        (["Kim", "--list", "README.md"], "README.md: the file is not UTF-8 XML"),
        (["Kim", "--limit", "0"], "--limit"),
    ],
)
def test_sanctions_match_refuses_what_it_cannot_use(args: list[str], reason: str) -> None:
    result = ewatch("sanctions", "match", *args)
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_send_to_nothing_listening_says_so_in_one_line(tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_bytes(orjson.dumps([record()]))
    result = ewatch("send", str(feed), "--url", "http://127.0.0.1:1")
    assert result.returncode == 1
    assert "could not reach the ingest API at http://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_without_a_stack_says_to_start_one() -> None:
    result = ewatch("demo", "--url", "http://127.0.0.1:1", "--timeout", "1")
    assert result.returncode == 1
    assert "start the stack first with `ewatch up`" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_json_file_is_sent_as_json_whatever_its_layout() -> None:
    records = [record("a"), record("b")]
    pretty = orjson.dumps(records, option=orjson.OPT_INDENT_2)
    assert content_type_of(pretty) == "application/json"
    assert content_type_of(orjson.dumps(records[0])) == "application/json"
    ndjson = b"\n".join(orjson.dumps(r) for r in records)
    assert content_type_of(ndjson) == "application/x-ndjson"
    assert content_type_of(b"not json\n{}") == "application/x-ndjson"


def test_screen_exits_1_when_a_record_is_rejected_and_still_screens_the_rest(
    tmp_path: Path,
) -> None:
    bad = record("bad-1")
    bad["route"]["destination"] = "Haiti"
    feed = tmp_path / "feed.ndjson"
    feed.write_bytes(orjson.dumps(record("good-1")) + b"\n" + orjson.dumps(bad) + b"\n")
    result = ewatch("screen", str(feed))
    assert result.returncode == 1, result.stderr
    assert {orjson.loads(line)["record_id"] for line in result.stdout.splitlines()} == {"good-1"}
    assert "screened 1 record(s), rejected 1" in result.stderr
