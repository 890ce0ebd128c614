"""``ewatch screen``: screen a file of transfer records, no Kafka, no PostgreSQL.

NDJSON and CSV are read, checked, screened and written one record at a time, so memory
does not grow with the file; only a JSON document (an array) is parsed whole.
"""

from __future__ import annotations

import csv
import gc
import io
import itertools
import os
import signal
import stat
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Protocol

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from services.cli.common import err, fail
from services.core.context import Context
from services.core.findings import SUMMARY_FIELDS, Finding
from services.core.rules import RulesError
from services.core.screening import screen as screen_record
from services.core.sexual_violence_annex import AnnexError
from services.core.transfer_csv import csv_records
from services.core.transfers import parse_transfer
from services.core.un_xml import NotAUnListError
from services.core.validation import BodyError, Decoded, Rejection, ndjson_records, rejection

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: How often (seconds) findings are flushed and the progress bar moves: a reader of our
#: output sees findings as they come, without a write per record. Input from a pipe is
#: also flushed whenever reading it may wait (see :class:`_Pipe`).
TICK_SECONDS = 0.05
#: Below this size a file screens too fast for a progress bar to help.
PROGRESS_MIN_BYTES = 1 << 20


class InputFormat(StrEnum):
    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"


class OutputFormat(StrEnum):
    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"


def _infer(path: Path) -> InputFormat:
    suffix = path.suffix.lower()
    return {".csv": InputFormat.CSV, ".json": InputFormat.JSON}.get(suffix, InputFormat.NDJSON)


# Reading: each format as a lazy sequence of decoded records or rejections.


def _document(data: bytes) -> Iterator[Decoded | Rejection]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"malformed JSON: {exc}") from exc
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise BodyError("expected a JSON object, an array of objects, or NDJSON")
    for i, obj in enumerate(doc):
        yield Decoded(i, obj, orjson.dumps(obj).decode())


def _json_records(stream: IO[bytes]) -> Iterator[Decoded | Rejection]:
    """A JSON document, parsed whole; NDJSON in a ``.json`` file is still read line by line."""
    head = []
    for line in stream:
        head.append(line)
        if line.strip():
            break
    if not head or not head[-1].strip():
        raise BodyError("the input is empty: no line holds a record")
    try:
        first = orjson.loads(head[-1])
    except orjson.JSONDecodeError:
        first = None  # the first line of a pretty-printed document
    if isinstance(first, dict):  # a whole object on one line: one record per line
        yield from ndjson_records(itertools.chain(head, stream))
    else:
        yield from _document(b"".join(head) + stream.read())


def _records(stream: IO[bytes], fmt: InputFormat) -> Iterator[Decoded | Rejection]:
    if fmt is InputFormat.CSV:
        return csv_records(stream)
    if fmt is InputFormat.NDJSON:
        return ndjson_records(stream)
    return _json_records(stream)


# Writing: each format one finding at a time.


class FindingSink(Protocol):
    def write(self, finding: Finding) -> None: ...

    def close(self) -> None:
        """Write what ends the output (a JSON array's bracket); call it once, at the end."""


class NdjsonSink:
    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, finding: Finding) -> None:
        self._out.write(orjson.dumps(finding.to_dict(), option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        pass


class JsonArraySink:
    """The same bytes as one indented JSON array of every finding, written as they come."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._opening = b"[\n  "

    def write(self, finding: Finding) -> None:
        body = orjson.dumps(finding.to_dict(), option=orjson.OPT_INDENT_2)
        # JSON strings escape their newlines, so every newline here is indentation.
        self._out.write(self._opening + body.replace(b"\n", b"\n  "))
        self._opening = b",\n  "

    def close(self) -> None:
        self._out.write(b"[]\n" if self._opening.startswith(b"[") else b"\n]\n")


def _as_is(value: object) -> object:
    return value


#: How a summary field that is not plain text reads in a CSV cell.
_CSV_CELLS: dict[str, Callable[[Any], object]] = {
    "citations": "; ".join,
    "party": lambda p: f"{p['role']}: {p['name']}" if p else "",
    "designated": lambda d: d["reference_number"] if d else "",
}


class _Utf8:
    """What :func:`csv.writer` writes to: text, encoded onto a binary stream."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, text: str) -> int:
        return self._out.write(text.encode())


class CsvSink:
    def __init__(self, out: IO[bytes]) -> None:
        self._writer = csv.writer(_Utf8(out))
        self._writer.writerow(["record_id", *SUMMARY_FIELDS, "ruleset_version", "list_version"])

    def write(self, finding: Finding) -> None:
        d: dict[str, Any] = dict(finding.to_dict())
        cells = [_CSV_CELLS.get(name, _as_is)(d[name]) for name in SUMMARY_FIELDS]
        self._writer.writerow([d["record_id"], *cells, d["ruleset_version"], d["list_version"]])

    def close(self) -> None:
        pass


SINKS: dict[OutputFormat, Callable[[IO[bytes]], FindingSink]] = {
    OutputFormat.NDJSON: NdjsonSink,
    OutputFormat.JSON: JsonArraySink,
    OutputFormat.CSV: CsvSink,
}


# The loop: read, check, screen, write, each record in turn, each stage timed.


@dataclass
class Tally:
    """What a run did, and, when it was timed, the CPU seconds spent in each stage."""

    screened: int = 0
    rejected: int = 0
    flagged: int = 0  # screened records with at least one finding
    kinds: Counter[str] = field(default_factory=Counter)
    read: float = 0.0  # reading and decoding (JSON lines, CSV rows)
    validate: float = 0.0  # the schema and the semantic checks
    parse: float = 0.0  # building the Transfer
    screen: float = 0.0
    write: float = 0.0  # findings and rejection messages


def untimed() -> float:
    """The clock of a run whose stages are not timed: a CPU clock costs about 1 µs a call
    on a busy virtual machine, six a record, several per cent of the run."""
    return 0.0


def screen_records(
    records: Iterable[Decoded | Rejection],
    context: Context,
    sink: FindingSink,
    on_rejection: Callable[[Rejection], None],
    on_tick: Callable[[Tally], None] = lambda _: None,
    tick_seconds: float = TICK_SECONDS,
    clock: Callable[[], float] = untimed,
) -> Tally:
    """Check and screen each record as it is pulled from ``records``; write its findings
    before pulling the next. ``on_tick`` runs after the first record and then once
    ``tick_seconds`` of wall-clock time have passed (0: after every record). With a
    ``clock`` (:func:`time.process_time`), the tally says where its time went. Errors of
    ``records`` (:class:`BodyError`) propagate."""
    tally = Tally()
    mark = clock()
    next_tick = time.perf_counter()  # the first findings go out at once
    for item in records:
        now = clock()
        tally.read += now - mark
        mark = now
        refused: Rejection | None
        obj: Any
        if isinstance(item, Rejection):
            refused, obj = item, None
        else:
            refused, obj = rejection(item.index, item.obj, item.raw), item.obj
        now = clock()
        tally.validate += now - mark
        mark = now
        if refused is not None:
            tally.rejected += 1
            on_rejection(refused)
        else:
            transfer = parse_transfer(obj)
            now = clock()
            tally.parse += now - mark
            mark = now
            findings = screen_record(transfer, context)
            now = clock()
            tally.screen += now - mark
            mark = now
            for finding in findings:
                sink.write(finding)
                tally.kinds[finding.kind.value] += 1
            tally.screened += 1
            tally.flagged += bool(findings)
        now = clock()
        tally.write += now - mark
        mark = now
        if (wall := time.perf_counter()) >= next_tick:
            on_tick(tally)
            next_tick = wall + tick_seconds
    return tally


# Around the loop: the input, the progress bar, the summary.


class _Pipe(io.RawIOBase):
    """A pipe's (or a terminal's) reading end that calls ``before_read`` before each read,
    the only moment reading may wait for the writer.

    Under a buffered reader, that is once per buffer's worth of records while they flow
    and once per record when they come one at a time: findings already made go out
    before waiting for the next record, without a write per record.
    """

    def __init__(self, stream: IO[bytes], before_read: Callable[[], None]) -> None:
        super().__init__()
        self._fd = stream.fileno()
        self._before_read = before_read

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer: WriteableBuffer) -> int:
        self._before_read()
        return os.readv(self._fd, [buffer])


def _size(stream: IO[bytes]) -> int | None:
    """The size of a regular file; None for a pipe or a terminal."""
    info = os.fstat(stream.fileno())
    return info.st_size if stat.S_ISREG(info.st_mode) else None


class _Bar:
    """A progress bar on stderr, by bytes read when the size is known."""

    def __init__(self, stream: IO[bytes], size: int | None, forced: bool) -> None:
        self._stream = stream
        console = Console(stderr=True, force_terminal=True) if forced else err
        self.progress = Progress(
            TextColumn("screening"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%" if size else ""),
            TextColumn("{task.fields[records]:,} records"),
            TimeRemainingColumn(),
            console=console,
            refresh_per_second=4,
        )
        self._task: TaskID = self.progress.add_task("screen", total=size, records=0)

    def tick(self, tally: Tally) -> None:
        done = tally.screened + tally.rejected
        try:
            position: int | None = self._stream.tell()
        except OSError:  # a pipe
            position = None
        self.progress.update(self._task, completed=position, records=done)

    def finish(self, tally: Tally) -> None:
        total = self.progress.tasks[0].total
        records = tally.screened + tally.rejected
        self.progress.update(self._task, completed=total, records=records)


def timings_json(tally: Tally, wall: tuple[float, float], cpu: tuple[float, float]) -> bytes:
    """Where the time went, as one JSON object (``--timings``): this process's CPU seconds
    by stage, and wall-clock seconds, each as (loading, the whole command)."""
    load, total = cpu
    stages = {
        "load": load,  # the rules and the list, and the list's name index
        "read": tally.read,
        "validate": tally.validate,
        "parse": tally.parse,
        "screen": tally.screen,
        "write": tally.write,
    }
    seconds = {**stages, "other": total - sum(stages.values()), "total": total}
    doc = {
        "records": tally.screened + tally.rejected,
        "cpu": {name: round(value, 4) for name, value in seconds.items()},
        "wall": {"load": round(wall[0], 4), "total": round(wall[1], 4)},
    }
    return orjson.dumps(doc)


def _screen_to_stdout(
    stream: IO[bytes],
    fmt: InputFormat,
    context: Context,
    output: OutputFormat,
    bar: _Bar | None,
    clock: Callable[[], float],
) -> Tally:
    """Screen ``stream`` onto stdout, rejections onto stderr; close ``stream``. Raises
    :class:`BrokenPipeError` when stdout's reader has gone, :class:`BodyError` or
    :class:`OSError` when the input cannot be read (what came before is written)."""
    # Our own buffer whatever PYTHONUNBUFFERED says, flushed by on_tick, before waiting for
    # input, and at the end.
    out = open(sys.stdout.fileno(), "wb", 1 << 16, closefd=False)  # noqa: SIM115 - fd 1 stays
    sink = SINKS[output](out)
    console = bar.progress.console if bar else err

    def on_rejection(r: Rejection) -> None:
        console.print(
            f"rejected record {r.index} ({r.record_id or 'no record_id'}): " + "; ".join(r.reasons),
            markup=False,
            highlight=False,
        )

    def on_tick(tally: Tally) -> None:
        out.flush()
        if bar:
            bar.tick(tally)

    live: AbstractContextManager[Any] = bar.progress if bar else nullcontext()
    source = stream
    if _size(stream) is None:
        source = io.BufferedReader(_Pipe(stream, out.flush), 1 << 16)
    try:
        with stream, live:
            records = _records(source, fmt)
            tally = screen_records(
                records, context, sink, on_rejection, on_tick, TICK_SECONDS, clock
            )
            if bar:
                bar.finish(tally)
    finally:
        sink.close()  # what was screened before an error still reads as valid output
        out.flush()
    return tally


def _summary(tally: Tally, context: Context, seconds: float) -> str:
    kinds = tally.kinds
    return (
        f"screened {tally.screened} record(s), rejected {tally.rejected}; "
        f"{kinds['violation']} violation(s), {kinds['indicator']} indicator(s) on "
        f"{tally.flagged} record(s) in {seconds:.2f}s — ruleset {context.ruleset.digest[:12]} "
        f"({len(context.ruleset.regimes)} regimes), list {context.list_version}"
    )


#: Allocations between two young-generation collections while records are screened
#: (Python's default: 700). A record's objects are freed by their reference counts; a
#: collection every few records would find nothing, and cost about 2 % of the run.
STREAM_GC_THRESHOLD = 10_000


def _load(rules_dir: Path | None, list_file: Path | None, annex_file: Path | None) -> Context:
    """The context, built with the cyclic garbage collector off, then kept out of its sight.

    Building the name index allocates a few hundred thousand objects that live as long as
    the command: the collector would walk them all again and again while they are built
    (about a third of the loading time) and then at every full collection while records
    are screened. It finds nothing there to free; one collection at the end frees what
    loading left behind, and ``gc.freeze`` moves the rest where collections do not look.
    """
    from services.knowledge import context_from_files

    gc.disable()
    try:
        context = context_from_files(rules_dir, list_file, annex_file)
    finally:
        gc.enable()
    gc.collect()
    gc.freeze()
    gc.set_threshold(STREAM_GC_THRESHOLD)
    return context


def command(
    input_file: Annotated[
        Path,
        typer.Argument(
            dir_okay=False,
            allow_dash=True,  # typer then cannot check a Path exists: opening it does
            metavar="INPUT",
            help="transfer records: NDJSON, JSON or CSV; - reads stdin",
        ),
    ],
    list_file: Annotated[
        Path | None,
        typer.Option(
            "--list", exists=True, dir_okay=False, help="UN list XML (default: the shipped list)"
        ),
    ] = None,
    rules_dir: Annotated[
        Path | None,
        typer.Option(
            "--rules", exists=True, file_okay=False, help="rules folder (default: shipped rules)"
        ),
    ] = None,
    annex_file: Annotated[
        Path | None,
        typer.Option(
            "--crsv",
            exists=True,
            dir_okay=False,
            help="annex of the report on conflict-related sexual violence (default: shipped)",
        ),
    ] = None,
    fmt: Annotated[
        InputFormat | None,
        typer.Option("--format", help="input format (default: from the file extension)"),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option(help="findings as ndjson (default), json or csv")
    ] = OutputFormat.NDJSON,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="a progress bar on stderr (default: on a terminal, for files of 1 MB or more)",
        ),
    ] = None,
    timings: Annotated[
        bool,
        typer.Option(help="also print where the time went, one JSON line on stderr"),
    ] = False,
) -> None:
    """Screen a file of transfer records; one JSON object per finding on stdout.

    Records are read, screened and written one at a time. Exits 0 when every record was
    screened, 1 when any was rejected (the others are still screened and printed), 2 when
    the input or an option cannot be used at all.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    stdin = str(input_file) == "-"
    try:
        stream = sys.stdin.buffer if stdin else input_file.open("rb")
    except OSError as exc:
        raise fail(f"{input_file}: {exc.strerror}", 2) from exc
    try:
        context = _load(rules_dir, list_file, annex_file)
    except (RulesError, NotAUnListError, AnnexError) as exc:
        raise fail(str(exc), 2) from exc
    load, cpu_load = time.perf_counter() - started, time.process_time() - cpu_started
    size = _size(stream)
    if progress is None:
        progress = err.is_terminal and (size is None or size >= PROGRESS_MIN_BYTES)
    bar = _Bar(stream, size, forced=not err.is_terminal) if progress else None
    clock = time.process_time if timings else untimed
    try:
        tally = _screen_to_stdout(stream, fmt or _infer(input_file), context, output, bar, clock)
    except BrokenPipeError as exc:
        # Whoever read stdout stopped (`| head`): stop quietly, as a shell tool does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(128 + signal.SIGPIPE) from exc
    except (BodyError, OSError) as exc:
        raise fail(f"{input_file}: {exc}", 2) from exc
    total = time.perf_counter() - started
    err.print(_summary(tally, context, total), markup=False, highlight=False)
    if timings:
        cpu = (cpu_load, time.process_time() - cpu_started)
        sys.stderr.write(timings_json(tally, (load, total), cpu).decode() + "\n")
    if tally.rejected:
        raise typer.Exit(1)  # the others are screened; a script must still see the rejections
