"""``ewatch screen``: screen a file of transfer records, no Kafka, no PostgreSQL."""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from services.cli.common import err, fail
from services.core.findings import SUMMARY_FIELDS, Finding
from services.core.rules import RulesError
from services.core.screening import screen as screen_record
from services.core.sexual_violence_annex import AnnexError
from services.core.transfer_csv import read_csv
from services.core.un_xml import NotAUnListError
from services.core.validation import Accepted, BodyError, Rejection, check, decode_batch


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


def _outcomes(path: Path, fmt: InputFormat) -> list[Accepted | Rejection]:
    data = path.read_bytes()
    if fmt is InputFormat.CSV:
        text = data.decode("utf-8-sig")
        return [check(i, rec, orjson.dumps(rec).decode()) for i, rec in enumerate(read_csv(text))]
    content_type = "application/x-ndjson" if fmt is InputFormat.NDJSON else "application/json"
    return list(decode_batch(data, content_type))


def _as_is(value: object) -> object:
    return value


#: How a summary field that is not plain text reads in a CSV cell.
_CSV_CELLS: dict[str, Callable[[Any], object]] = {
    "citations": "; ".join,
    "party": lambda p: f"{p['role']}: {p['name']}" if p else "",
    "designated": lambda d: d["reference_number"] if d else "",
}


def _write_csv(findings: list[Finding]) -> None:
    writer = csv.writer(sys.stdout)
    writer.writerow(["record_id", *SUMMARY_FIELDS, "ruleset_version", "list_version"])
    for f in findings:
        d: dict[str, Any] = dict(f.to_dict())
        cells = [_CSV_CELLS.get(name, _as_is)(d[name]) for name in SUMMARY_FIELDS]
        writer.writerow([d["record_id"], *cells, d["ruleset_version"], d["list_version"]])


def command(
    input_file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="INPUT",
            help="transfer records: NDJSON, JSON or CSV",
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
) -> None:
    """Screen a file of transfer records; one JSON object per finding on stdout.

    Exits 0 when every record was screened, 1 when any was rejected (the others are still
    screened and printed), 2 when the input or an option cannot be used at all.
    """
    from services.knowledge import context_from_files

    try:
        context = context_from_files(rules_dir, list_file, annex_file)
    except (RulesError, NotAUnListError, AnnexError) as exc:
        raise fail(str(exc), 2) from exc
    try:
        outcomes = _outcomes(input_file, fmt or _infer(input_file))
    except (BodyError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f"{input_file}: {exc}", 2) from exc
    started = time.perf_counter()
    findings: list[Finding] = []
    kinds: Counter[str] = Counter()
    flagged: set[str] = set()
    for outcome in outcomes:
        if isinstance(outcome, Rejection):
            err.print(
                f"rejected record {outcome.index} ({outcome.record_id or 'no record_id'}): "
                + "; ".join(outcome.reasons)
            )
            continue
        for finding in screen_record(outcome.transfer, context):
            findings.append(finding)
            kinds[finding.kind.value] += 1
            flagged.add(finding.record_id)
            if output is OutputFormat.NDJSON:
                sys.stdout.write(orjson.dumps(finding.to_dict()).decode() + "\n")
    if output is OutputFormat.JSON:
        payload: Any = [f.to_dict() for f in findings]
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif output is OutputFormat.CSV:
        _write_csv(findings)
    elapsed = time.perf_counter() - started
    rejected = sum(isinstance(o, Rejection) for o in outcomes)
    err.print(
        f"screened {len(outcomes) - rejected} record(s), rejected {rejected}; "
        f"{kinds['violation']} violation(s), {kinds['indicator']} indicator(s) on "
        f"{len(flagged)} record(s) in {elapsed:.2f}s — ruleset {context.ruleset.digest[:12]} "
        f"({len(context.ruleset.regimes)} regimes), list {context.list_version}"
    )
    if rejected:
        raise typer.Exit(1)  # the others are screened; a script must still see the rejections
