"""``ewatch screen`` streams: each record's findings are written before the next record is
read, every output format is written finding by finding, exit codes as the README says."""

from __future__ import annotations

import csv
import io
import os
import re
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from services.cli.screen import CsvSink, JsonArraySink, NdjsonSink, _Pipe, screen_records
from services.core.context import Context
from services.core.findings import SUMMARY_FIELDS, Finding
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.core.validation import Decoded, Rejection
from services.knowledge import context_from_files
from tests.records import batch, record
from tests.unit.test_screen_cli import ROOT, ewatch


@pytest.fixture(scope="module")
def context() -> Context:
    return context_from_files(None, None)


@pytest.fixture(scope="module")
def findings(context: Context) -> list[Finding]:
    found = [f for i in range(3) for f in screen(parse_transfer(record(f"r{i}")), context)]
    assert len(found) >= 3
    return found


class Recorder:
    """A sink that notes, for each finding, how many records had been pulled."""

    def __init__(self, pulled: list[int]) -> None:
        self.pulled = pulled
        self.written: list[tuple[str, int]] = []

    def write(self, finding: Finding) -> None:
        self.written.append((finding.record_id, self.pulled[0]))

    def close(self) -> None:
        pass


def test_findings_are_written_before_the_next_record_is_read(context: Context) -> None:
    pulled = [0]

    def records() -> Iterator[Decoded | Rejection]:
        for i in range(3):
            pulled[0] += 1
            rec = record(f"r{i}")
            yield Decoded(i, rec, orjson.dumps(rec).decode())
        pulled[0] += 1
        yield Rejection(3, None, ("line 4: malformed JSON",), "{")

    sink = Recorder(pulled)
    rejected: list[Rejection] = []
    ticks: list[int] = []
    tally = screen_records(records(), context, sink, rejected.append, lambda t: ticks.append(1))
    assert {(rid, n) for rid, n in sink.written} == {("r0", 1), ("r1", 2), ("r2", 3)}
    assert [r.index for r in rejected] == [3]
    assert ticks  # the first record's findings are flushed at once
    assert (tally.screened, tally.rejected, tally.flagged) == (3, 1, 3)
    assert sum(tally.kinds.values()) == len(sink.written)
    assert min(tally.read, tally.validate, tally.screen, tally.write) >= 0


def test_the_json_array_is_written_finding_by_finding_as_one_document(
    findings: list[Finding],
) -> None:
    for n in (0, 1, len(findings)):
        out = io.BytesIO()
        sink = JsonArraySink(out)
        for f in findings[:n]:
            sink.write(f)
        sink.close()
        whole = [f.to_dict() for f in findings[:n]]
        assert out.getvalue() == orjson.dumps(whole, option=orjson.OPT_INDENT_2) + b"\n"


def test_ndjson_and_csv_sinks_write_one_line_per_finding(findings: list[Finding]) -> None:
    nd, table = io.BytesIO(), io.BytesIO()
    sinks = [NdjsonSink(nd), CsvSink(table)]
    for f in findings:
        for sink in sinks:
            sink.write(f)
    assert [orjson.loads(line) for line in nd.getvalue().splitlines()] == [
        orjson.loads(orjson.dumps(f.to_dict())) for f in findings
    ]
    rows = list(csv.reader(io.StringIO(table.getvalue().decode())))
    assert rows[0] == ["record_id", *SUMMARY_FIELDS, "ruleset_version", "list_version"]
    assert [r[0] for r in rows[1:]] == [f.record_id for f in findings]
    assert rows[1][SUMMARY_FIELDS.index("citations") + 1] == "; ".join(findings[0].citations)


def test_findings_come_out_of_a_pipe_before_its_input_ends() -> None:
    """The command's memory cannot grow with its input if it answers before the input
    is complete: here each record is sent only once the one before has been answered."""
    child = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "screen", "-"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin
    assert child.stdout
    try:
        for record_id in ("first", "second"):
            child.stdin.write(orjson.dumps(record(record_id)) + b"\n")
            child.stdin.flush()
            seen = None
            while seen != record_id:  # past the rest of the previous record's findings
                # Only a guard against hanging: the finding must come, whenever it comes.
                ready, _, _ = select.select([child.stdout], [], [], 120)
                assert ready, f"no finding for {record_id} before the end of the input"
                seen = orjson.loads(child.stdout.readline())["record_id"]
            assert child.poll() is None  # still waiting for more input
        child.stdin.close()
        errors = child.stderr.read() if child.stderr else b""
        assert child.wait(timeout=120) == 0, errors
    finally:
        if child.poll() is None:
            child.kill()
    assert b"screened 2 record(s), rejected 0" in errors


def test_a_pipe_says_when_reading_may_wait_once_per_buffer_not_per_record() -> None:
    """Findings are flushed before each read of a pipe: per record when records come one at
    a time (the test above), per buffer's worth when they flow."""
    lines = [orjson.dumps(record(f"r{i}")) + b"\n" for i in range(200)]
    assert sum(map(len, lines)) > 1 << 16
    reading, writing = os.pipe()

    def feed() -> None:  # more than a pipe holds, so from another thread
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(b"".join(lines))

    writer = threading.Thread(target=feed)
    writer.start()
    waits: list[int] = []
    with os.fdopen(reading, "rb") as stream:
        piped = io.BufferedReader(_Pipe(stream, lambda: waits.append(1)), 1 << 16)
        assert list(piped) == lines
    writer.join()
    # Reads of up to 64 KB (a pipe hands over as little as a page at a time), then the end.
    assert 2 <= len(waits) <= 1 + sum(map(len, lines)) // 4096 < len(lines)


def test_a_reader_that_stops_reading_stops_the_command_quietly() -> None:
    feed = str(ROOT / "samples" / "demo-feed.ndjson")
    child = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "screen", feed],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout
    child.stdout.close()  # as `| head -0` would, before the first finding
    _, errors = child.communicate(timeout=120)
    assert child.returncode == 141  # 128 + SIGPIPE, what a shell shows for `cat` there
    assert errors == b""  # no traceback, no error, nothing left unflushed at exit


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NDJSON over several read buffers, a bad line in the middle, a rejection every 20th."""
    lines = [orjson.dumps(r) for r in batch(120)]
    lines.insert(60, b'{"record_id": "cut-off", "transfer_date": "2024-')
    path = tmp_path_factory.mktemp("screen") / "big.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert path.stat().st_size > 4 * io.DEFAULT_BUFFER_SIZE
    return path


def test_a_large_ndjson_file_with_a_bad_line_in_the_middle(big_file: Path) -> None:
    result = ewatch("screen", str(big_file), "--timings")
    assert result.returncode == 1, result.stderr
    assert "rejected record 60 (no record_id): line 61: malformed JSON" in result.stderr
    assert "rejected record 19 (bad-19): transfer_date: '2024-13-45' is not a 'date'" in (
        result.stderr
    )
    assert "screened 114 record(s), rejected 7;" in result.stderr
    findings = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert {f["record_id"] for f in findings} >= {"rec-00002", "rec-00118"}
    timings = orjson.loads(result.stderr.splitlines()[-1])
    assert timings["records"] == 121
    assert set(timings["cpu"]) == {
        "load", "read", "validate", "parse", "screen", "write", "other", "total",
    }  # fmt: skip
    assert set(timings["wall"]) == {"load", "total"}
    assert timings["cpu"]["total"] >= timings["cpu"]["screen"] > 0
    # The summary's time is the whole command's, loading the rules and list included.
    said = re.search(r" in ([0-9.]+)s — ruleset", result.stderr)
    assert said
    assert float(said[1]) == pytest.approx(timings["wall"]["total"], abs=0.01)
    assert float(said[1]) > timings["wall"]["load"]

    as_json = ewatch("screen", str(big_file), "--output", "json")
    assert orjson.loads(as_json.stdout) == findings
    as_csv = ewatch("screen", str(big_file), "--output", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["rule_id"] for r in rows] == [f["rule_id"] for f in findings]
    assert as_json.returncode == as_csv.returncode == 1


def test_a_json_array_and_ndjson_in_a_json_file(tmp_path: Path) -> None:
    records = batch(6, invalid_every=3)
    array = tmp_path / "array.json"
    array.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))
    lines = tmp_path / "lines.json"
    lines.write_bytes(b"\n" + b"\n".join(orjson.dumps(r) for r in records))
    from_array, from_lines = ewatch("screen", str(array)), ewatch("screen", str(lines))
    assert from_array.returncode == from_lines.returncode == 1
    assert from_array.stdout == from_lines.stdout
    assert "rejected record 2 (bad-2): items[0].category" in from_array.stderr
    # Read line by line, the reasons name the file's lines (the first one is blank).
    assert "rejected record 3 (bad-2): items[0].category" in from_lines.stderr


def test_a_csv_whose_rows_of_one_transfer_are_apart_is_screened_and_reported(
    tmp_path: Path,
) -> None:
    sample = (ROOT / "samples" / "haiti-timeline.csv").read_text().splitlines()
    path = tmp_path / "apart.csv"
    path.write_text("\n".join([*sample, sample[1]]) + "\n")
    result = ewatch("screen", str(path), "--output", "csv")
    assert result.returncode == 1, result.stderr
    assert "rejected record 6 (ht-2023-06): line 9: record_id 'ht-2023-06' came" in (result.stderr)
    assert "screened 6 record(s), rejected 1;" in result.stderr


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.ndjson", b"\n\n", "the input is empty"),
        ("empty.csv", b"", "the input is empty"),
        ("latin1.ndjson", orjson.dumps(record()) + b'\n{"a": "\xe9"}\n', "line 2 is not UTF-8"),
        ("scalar.json", b"42", "expected a JSON object"),
    ],
)
def test_an_input_that_cannot_be_read_exits_2(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = ewatch("screen", str(path), "--output", "json")
    assert result.returncode == 2, result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    # What was screened before the error is still one valid JSON document.
    assert isinstance(orjson.loads(result.stdout), list)


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = ewatch("screen", str(tmp_path / "nowhere.ndjson"))
    assert result.returncode == 2
    assert "nowhere.ndjson: No such file or directory" in result.stderr


def test_progress_is_shown_when_asked_and_not_in_a_pipe_otherwise() -> None:
    feed = str(ROOT / "samples" / "demo-feed.ndjson")
    shown = ewatch("screen", feed, "--progress")
    assert "screening" in shown.stderr
    assert "7 records" in shown.stderr
    assert "100%" in shown.stderr
    quiet = ewatch("screen", feed)
    assert "screening" not in quiet.stderr
    assert shown.stdout == quiet.stdout
