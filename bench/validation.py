"""Validation against screening, per record, in one run.

    .venv/bin/python bench/validation.py [--records 20000] [--repeat 5]

On the records of ``bench/run.py`` (same seed: 5 parties, 2 items each), measures:

- (a) ``jsonschema`` as ``validate_record`` used it before: the whole schema walked in
  Python for every record, then the semantic checks;
- (b) ``validate_record`` now: the compiled validator decides, jsonschema walks only
  what it rejects; then the semantic checks. Also its parts, and a feed where one
  record in 20 is invalid (each of those walked by jsonschema for its reasons);
- (c) ``screen()`` on the same records, on a fresh index (every name new to it) and
  again with every name cached, the fastest screening gets;
- ``orjson.loads`` of each record's JSON line, the decoder validation is measured against.

Timings are CPU time of this process (``time.process_time``) after ``gc.collect()``;
the fast measurements are the median of ``--repeat`` passes. Prints a Markdown report
(paste into docs/benchmarks.md) and exits non-zero if (b) costs 10 % of (c) fresh or more,
or if (a) and (b) disagree on any record.
"""

from __future__ import annotations

import argparse
import copy
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import LIST_2025, machine, make_records  # noqa: E402
from services.core import resources, rules, validation  # noqa: E402
from services.core.screening import screen  # noqa: E402
from services.core.transfers import parse_transfer  # noqa: E402
from services.core.un_xml import parse_list  # noqa: E402
from services.knowledge import context_for  # noqa: E402

TARGET_SHARE = 0.10
INVALID_EVERY = 20
A = "(a) jsonschema walk + semantic checks, as before"
B = "(b) validate_record now: compiled + semantic checks"

_PLAIN = Draft202012Validator(
    orjson.loads(resources.schema_bytes("transfer.v1.json")), format_checker=FormatChecker()
)


def validate_before(obj: Any) -> list[str]:
    """``validate_record`` as it was before the compiled validator."""
    errors = sorted(_PLAIN.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        return [validation._describe(e) for e in errors[:20]]
    return validation._semantic_problems(obj)


def broken(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``records`` where one in :data:`INVALID_EVERY` breaks the schema."""
    out = [copy.deepcopy(r) for r in records]
    for n, rec in enumerate(out[INVALID_EVERY - 1 :: INVALID_EVERY]):
        match n % 4:
            case 0:
                del rec["transfer_date"]
            case 1:
                rec["items"][0]["category"] = "pistols"
            case 2:
                rec["route"]["destination"] = "Haiti"
            case _:
                rec["transfer_date"] = "2023-02-30"
    return out


def cpu_seconds(run: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    run()
    return time.process_time() - start


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    return statistics.median(cpu_seconds(run) for _ in range(repeat))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    sanctions_list, _ = parse_list(LIST_2025.read_bytes())
    records = make_records(args.records, args.seed, [p.name for p in sanctions_list.parties])
    lines = [orjson.dumps(r) for r in records]
    mixed = broken(records)
    transfers = [parse_transfer(r) for r in records]
    compiled = validation._compiled()
    validation._explainer()  # built before timing, as a running process has it

    before = [validate_before(r) for r in mixed]
    now = [validation.validate_record(r) for r in mixed]
    agree = sum(bool(a) == bool(b) for a, b in zip(before, now, strict=True))
    same_words = sum(a == b for a, b in zip(before, now, strict=True))
    rejected = sum(bool(b) for b in now)

    n = len(records)
    fast: list[tuple[str, Callable[[], object]]] = [
        ("orjson.loads of the record's JSON line", lambda: [orjson.loads(x) for x in lines]),
        (B, lambda: [validation.validate_record(r) for r in records]),
        (
            "  of which the compiled validator (is_valid)",
            lambda: [compiled.is_valid(r) for r in records],
        ),
        (
            "  of which the semantic checks (countries, NUL)",
            lambda: [validation._semantic_problems(r) for r in records],
        ),
        (
            f"(b) validate_record now, 1 record in {INVALID_EVERY} invalid",
            lambda: [validation.validate_record(r) for r in mixed],
        ),
    ]
    rows = [(what, median_seconds(run, args.repeat)) for what, run in fast]
    rows.insert(1, (A, cpu_seconds(lambda: [validate_before(r) for r in records])))
    # What one rejection costs (the share columns are for whole feeds).
    invalid = [r for r, reasons in zip(mixed, now, strict=True) if reasons]
    per_rejection = [
        (f"(a) as before, the {len(invalid)} rejected records only", validate_before),
        (f"(b) now, the {len(invalid)} rejected records only", validation.validate_record),
    ]
    ctx = context_for(rules.load_directory(), sanctions_list)
    fresh = cpu_seconds(lambda: [screen(t, ctx) for t in transfers])
    warm = cpu_seconds(lambda: [screen(t, ctx) for t in transfers])
    rows += [
        ("(c) screen(), fresh index (every name new to it)", fresh),
        ("(c) screen(), the same records again (every name cached)", warm),
    ]
    a, b = dict(rows)[A], dict(rows)[B]

    print(f"## Validation benchmark ({time.strftime('%Y-%m-%d')})\n")
    print(f"- machine: {machine()}")
    print(
        f"- jsonschema {version('jsonschema')}, jsonschema-rs {version('jsonschema-rs')}, "
        f"orjson {version('orjson')}"
    )
    print(
        f"- records: {n} of `bench/run.py` (seed {args.seed}), 5 parties and 2 items each; "
        f"CPU time, median of {args.repeat} passes for the fast rows\n"
    )
    print("| what | CPU s | µs per record | share of (c) fresh | share of (c) cached |")
    print("|---|---:|---:|---:|---:|")
    for what, s in rows:
        print(f"| {what} | {s:.3f} | {s / n * 1e6:,.1f} | {s / fresh:.1%} | {s / warm:.1%} |")
    for what, validate in per_rejection:
        s = cpu_seconds(lambda validate=validate: [validate(r) for r in invalid])
        print(f"| {what} | {s:.3f} | {s / len(invalid) * 1e6:,.1f} | | |")
    print(
        f"\n- (b)/(c) fresh: **{b / fresh:.1%}** (cached names: {b / warm:.1%}); "
        f"(a)/(c) fresh: **{a / fresh:.0%}** (cached names: {a / warm:.0%}); "
        f"(a)/(b): {a / b:.0f}×"
    )
    print(
        f"- verdicts of (a) and (b) on the {n} records with 1 in {INVALID_EVERY} broken: "
        f"{agree}/{n} the same ({rejected} rejected), reasons word for word {same_words}/{n}"
    )
    ok = b / fresh < TARGET_SHARE and agree == n
    print(
        f"- target (b) < {TARGET_SHARE:.0%} of (c) fresh, same verdicts: "
        f"**{'met' if ok else 'NOT met'}**"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
