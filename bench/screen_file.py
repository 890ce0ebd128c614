"""``ewatch screen`` on a file, end to end, against the pure ``screen()`` rate, same run.

    .venv/bin/python bench/screen_file.py [--records 100000] [--rounds 3] [--large 1000000]

Writes ``--records`` synthetic records (``bench/run.py``'s generator: 5 parties and 2
items each) to a temporary NDJSON file and measures, with the full 2025 list and every
shipped regime, ``--rounds`` times in turn (the machine is shared: a neighbour's burst
then lands on one round, not on one side):

(a) ``screen()`` over the same records already parsed, in this process (CPU time of
    the loop alone, findings counted and dropped, as the command does);
(b) ``ewatch screen FILE`` in a child process, findings to a file: its wall and CPU
    time (``os.wait4``: interpreter start, imports and loading included) and its peak
    RSS;

then once (b) with ``--timings``, for the command's own split of its CPU time into
loading, reading, validating, parsing, screening and writing (the stage clock costs
about 1 µs a call, which is why (b) runs without it), and (b) alone on ``--large``
records, for its peak RSS. Prints a Markdown report and exits non-zero when a target
is missed: (b) at least 80 % of (a)'s rate on ``--records`` (the median round), under
300 MB peak RSS on ``--large``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import LIST_2025, machine, make_records  # noqa: E402
from services.core.screening import screen  # noqa: E402
from services.core.transfers import parse_transfer  # noqa: E402
from services.knowledge import context_from_files  # noqa: E402

GNU_TIME = "/usr/bin/time"  # for the child's own peak RSS; see run_command
TARGET_SHARE = 0.80
TARGET_RSS_MB = 300
CHUNK = 10_000  # records generated at a time, so the generator's memory stays small


def write_records(path: Path, n: int, seed: int, list_names: Sequence[str]) -> None:
    with path.open("wb") as out:
        for start in range(0, n, CHUNK):
            chunk = make_records(min(CHUNK, n - start), seed + start, list_names)
            for i, record in enumerate(chunk):
                record["record_id"] = f"bench-{start + i}"  # unique across chunks
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


@dataclass
class Pure:
    records: int
    cpu: float
    findings: int

    @property
    def rate(self) -> float:
        return self.records / self.cpu


def pure_screen(path: Path) -> Pure:
    """(a): a fresh context, as the command builds, and the parsed records screened."""
    context = context_from_files(None, LIST_2025)
    with path.open("rb") as lines:
        transfers = [parse_transfer(orjson.loads(line)) for line in lines]
    gc.collect()
    started = time.process_time()
    findings = sum(len(screen(t, context)) for t in transfers)
    cpu = time.process_time() - started
    return Pure(len(transfers), cpu, findings)


@dataclass
class Command:
    records: int
    wall: float
    cpu: float
    rss_mb: float
    findings: int
    timings: dict[str, Any] | None  # with --timings

    @property
    def rate(self) -> float:
        return self.records / self.cpu


def run_command(path: Path, records: int, timings: bool = False) -> Command:
    """(b): the command in a child process, its CPU time from ``os.wait4``.

    Its peak RSS comes from GNU time, not from this rusage: a child spawned from this
    process starts with our (large) high-water mark, and keeps it across ``exec``; GNU
    time's own child does not.
    """
    argv = [sys.executable, "-m", "services.cli.main", "screen", str(path)]
    argv += ["--list", str(LIST_2025), "--no-progress", *(["--timings"] if timings else [])]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as errors,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        argv = [GNU_TIME, "--format", "%M", "--output", peak.name, *argv]
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode()
        if child.returncode != 0:
            raise SystemExit(f"ewatch screen exited {child.returncode}:\n{stderr}")
        out.seek(0)
        findings = sum(1 for _ in out)
        rss_kib = int(peak.read().split()[-1])
    split = orjson.loads(stderr.strip().splitlines()[-1]) if timings else None
    return Command(
        records=records,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=rss_kib / 1024,
        findings=findings,
        timings=split,
    )


#: The command's stages (``--timings``), and what each one is.
STAGES = {
    "start": "interpreter start and imports (the child's CPU − the command's own)",
    "load": "load: rules, list, name index",
    "read": "read: a line, its JSON decoded",
    "validate": "validate: compiled schema, semantic checks",
    "parse": "parse: building the `Transfer`",
    "screen": "screen",
    "write": "write: the findings as NDJSON",
    "other": "other: the loop, the stage clock",
}


def split_table(cmd: Command) -> list[str]:
    assert cmd.timings is not None
    seconds = {"start": cmd.cpu - cmd.timings["cpu"]["total"], **cmd.timings["cpu"]}
    rows = ["| stage | CPU s | share | per record |", "|---|---:|---:|---:|"]
    for stage, what in STAGES.items():
        value = seconds[stage]
        per = f"{value / cmd.records * 1e6:,.1f} µs" if stage not in ("start", "load") else "—"
        rows.append(f"| {what} | {value:.2f} | {value / cmd.cpu:.0%} | {per} |")
    rows.append(
        f"| the whole child | {cmd.cpu:.2f} | 100% | {cmd.cpu / cmd.records * 1e6:,.1f} µs |"
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="(a) then (b), this many times")
    parser.add_argument("--large", type=int, default=1_000_000, help="0: skip the large run")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    from services.core.un_xml import parse_list

    list_names = [p.name for p in parse_list(LIST_2025.read_bytes())[0].parties]
    rounds: list[tuple[Pure, Command]] = []
    with tempfile.TemporaryDirectory(prefix="ewatch-bench-") as tmp:
        path = Path(tmp) / "records.ndjson"
        write_records(path, args.records, args.seed, list_names)
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.rounds):
            pure = pure_screen(path)
            gc.collect()
            rounds.append((pure, run_command(path, args.records)))
        timed = run_command(path, args.records, timings=True)
        large: Command | None = None
        if args.large:
            big = Path(tmp) / "large.ndjson"
            write_records(big, args.large, args.seed, list_names)
            path.unlink()
            large = run_command(big, args.large)

    shares = [cmd.rate / pure.rate for pure, cmd in rounds]
    share = statistics.median(shares)
    print(f"## `ewatch screen` on a file ({time.strftime('%Y-%m-%d')})\n")
    print(f"- machine: {machine()}")
    print(
        f"- records: {args.records:,} ({size_mb:.0f} MB of NDJSON), seed {args.seed}, "
        f"`bench/run.py`'s generator; list {LIST_2025.name}\n"
    )
    print(
        "| round | (a) CPU s | (a) records per CPU s | (b) wall s | (b) CPU s "
        "| (b) records per CPU s | (b) of (a) | (b) peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for n, (pure, cmd) in enumerate(rounds, 1):
        print(
            f"| {n} | {pure.cpu:.2f} | {pure.rate:,.0f} | {cmd.wall:.2f} | {cmd.cpu:.2f} "
            f"| {cmd.rate:,.0f} | {cmd.rate / pure.rate:.1%} | {cmd.rss_mb:.0f} MB |"
        )
    print(f"\n- (b) of (a): median {share:.1%}, range {min(shares):.1%} – {max(shares):.1%}")
    if large:  # (a) is not measured on it: its parsed records would not fit in memory
        print(
            f"- (b) on {large.records:,} records: {large.wall:.2f} s wall, {large.cpu:.2f} s "
            f"CPU, {large.rate:,.0f} records per CPU s, peak RSS **{large.rss_mb:.0f} MB**"
        )
    counts = {pure.findings for pure, _ in rounds} | {cmd.findings for _, cmd in rounds}
    counts.add(timed.findings)
    same = len(counts) == 1
    print(f"- findings, every run: {', '.join(f'{c:,}' for c in sorted(counts))}: ", end="")
    print("same" if same else "DIFFER")
    print(
        f"\nWhere (b)'s time went, one more run with `--timings` ({timed.cpu:.2f} s CPU, "
        f"{timed.rate:,.0f} records per CPU s):\n"
    )
    print("\n".join(split_table(timed)))
    assert timed.timings is not None
    cpu = timed.timings["cpu"]
    fixed = timed.cpu - cpu["total"] + cpu["load"]
    screening = cpu["screen"] / timed.records * 1e6
    print(
        f"\n- in this run, `screen()` inside the stream: {screening:,.1f} µs a record; the rest: "
        f"{(timed.cpu - cpu['screen']) / cpu['screen']:.0%} of it, of which the fixed costs "
        f"(start, load: {fixed:.2f} s) {fixed / cpu['screen']:.0%}"
    )
    ok = share >= TARGET_SHARE and same and (large is None or large.rss_mb < TARGET_RSS_MB)
    print(
        f"\n- targets (b) ≥ {TARGET_SHARE:.0%} of (a) on {args.records:,} records, "
        f"< {TARGET_RSS_MB} MB peak RSS on {args.large:,}: **{'met' if ok else 'NOT met'}**"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
