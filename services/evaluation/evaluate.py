"""The labelled evaluation set: how well ``screen()`` finds what it should, per category.

Run the report with ``.venv/bin/python -m services.evaluation.evaluate``; the floors the unit tests
hold it to are in ``floors.yaml``, the cases in ``cases/*.yaml``.

How a case is compared
----------------------
Each case is screened with the context of its list file (``list``: "2024" or "2025") and the
shipped rules. Its *expected* findings are its ``expect`` entries, each
``{kind, regime, rule, designated?}``; its *actual* findings are every finding ``screen()``
returns, whatever its kind or category: a diversion indicator nobody expected on a Haiti
timeline case counts against precision as much as a wrong violation.

An expected entry matches an actual finding when the kinds are equal; the regimes are equal
(an entry may give ``regime: null``, for diversion indicators that carry none); the finding's
``rule_id`` equals ``rule`` or starts with ``rule + "."`` (so ``HT.territory`` covers
``HT.territory.non-lethal-protective``); and, if the entry gives ``designated``, the finding's
designated reference number equals it. Pairing is one-to-one, most specific entries first
(those naming a designated party, then longer rules).

Per category: a true positive is a paired expected entry, a false negative an unpaired one, a
false positive an unpaired actual finding. Precision is TP / (TP + FP) and recall TP / (TP +
FN); a figure whose denominator is 0 is not given (``None``, shown as "-"): a category where
nothing is expected reports its false positives and a precision of 0 as soon as it has one,
not a 1.0 that says nothing. ``cases`` is the share of cases with no FP and no FN.

The report ends with the benign feed (:mod:`services.evaluation.feeds`): how many of
:data:`BENIGN_RECORDS` records of ordinary trade raise any finding, against
:data:`BENIGN_LIMIT`.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from services.core.context import Context
from services.core.findings import Finding, Kind
from services.core.resources import ROOT
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.evaluation.feeds import benign_feed
from services.knowledge import context_from_files

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"
FLOORS_PATH = HERE / "floors.yaml"

#: The shared list files a case can be screened with.
LIST_FILES: Mapping[str, Path] = {
    "2024": ROOT / "data" / "un-consolidated-2024-09-26.xml",
    "2025": ROOT / "data" / "un-consolidated-2025-08-16-damaged.xml",
}

CATEGORIES = (
    "haiti_timeline",
    "regime_territorial",
    "regime_targeted",
    "exemption",
    "direction",
    "listing_date",
    "name_reordered",
    "name_accented",
    "name_hyphen_apostrophe",
    "name_alias",
    "name_original_script",
    "name_misspelt",
    "name_partial",
    "near_miss_negative",
    "generic_company_negative",
    "indicator",
)

#: The benign feed: its size, its list file, and the share of its records that may raise
#: any finding.
BENIGN_RECORDS = 10_000
BENIGN_LIST = "2025"
BENIGN_LIMIT = 0.01

#: Sentinel for an ``expect`` entry that does not constrain the regime.
_ANY = object()


@dataclass(frozen=True, slots=True)
class Expected:
    kind: Kind
    rule: str
    regime: object = _ANY  # str, None, or _ANY
    designated: str | None = None

    def matches(self, f: Finding) -> bool:
        if f.kind is not self.kind or not _under(f.rule_id, self.rule):
            return False
        if self.regime is not _ANY and f.regime != self.regime:
            return False
        return self.designated is None or (
            f.designated is not None and f.designated.reference_number == self.designated
        )

    def __str__(self) -> str:
        regime = "" if self.regime is _ANY else f" [{self.regime}]"
        who = f" {self.designated}" if self.designated else ""
        return f"{self.kind.value} {self.rule}{regime}{who}"


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    category: str
    regime: str | None
    list: str
    description: str
    record: Mapping[str, Any]
    expect: tuple[Expected, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    expected: tuple[Expected, ...]
    actual: tuple[Finding, ...]
    missing: tuple[Expected, ...]  # false negatives
    unexpected: tuple[Finding, ...]  # false positives

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unexpected


@dataclass(slots=True)
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0
    passed: int = 0
    failures: list[CaseResult] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        """``None`` when nothing was found, right or wrong."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        """``None`` when nothing is expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def case_rate(self) -> float:
        return self.passed / self.cases if self.cases else 1.0


@dataclass(frozen=True, slots=True)
class Report:
    categories: Mapping[str, Score]
    results: tuple[CaseResult, ...]

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def _under(rule_id: str, rule: str) -> bool:
    return rule_id == rule or rule_id.startswith(rule + ".")


def _expected(raw: Mapping[str, Any]) -> Expected:
    return Expected(
        kind=Kind(raw["kind"]),
        rule=str(raw["rule"]),
        regime=raw.get("regime", _ANY),
        designated=raw.get("designated"),
    )


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    """The cases of every ``*.yaml`` in ``directory`` (by file name, then file order);
    raises ``ValueError`` on a malformed case or an id used twice."""
    docs = [
        raw
        for path in sorted(directory.glob("*.yaml"))
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or ()
    ]
    if twice := sorted(i for i, n in Counter(raw["id"] for raw in docs).items() if n > 1):
        raise ValueError(f"case ids used more than once: {', '.join(twice)}")
    cases = []
    for raw in docs:
        if raw["category"] not in CATEGORIES:
            raise ValueError(f"case {raw['id']}: unknown category {raw['category']!r}")
        if str(raw["list"]) not in LIST_FILES:
            raise ValueError(f"case {raw['id']}: unknown list {raw['list']!r}")
        cases.append(
            Case(
                id=raw["id"],
                category=raw["category"],
                regime=raw.get("regime"),
                list=str(raw["list"]),
                description=raw["description"],
                record=raw["record"],
                expect=tuple(_expected(e) for e in raw["expect"] or ()),
            )
        )
    return cases


@cache
def context(list_name: str) -> Context:
    """The screening context for one shared list file, built once per process."""
    return context_from_files(None, LIST_FILES[list_name])


def run_case(case: Case) -> CaseResult:
    actual = screen(parse_transfer(case.record), context(case.list))
    # Most specific first, so a bare "HT.territory" cannot take the finding that a
    # "HT.territory.non-lethal-protective" entry needs.
    order = sorted(case.expect, key=lambda e: (e.designated is None, -len(e.rule)))
    left = list(actual)
    missing = []
    for exp in order:
        hit = next((f for f in left if exp.matches(f)), None)
        if hit is None:
            missing.append(exp)
        else:
            left.remove(hit)
    return CaseResult(case, case.expect, tuple(actual), tuple(missing), tuple(left))


def evaluate(cases: Sequence[Case]) -> Report:
    """Screen every case and score it; categories in :data:`CATEGORIES` order."""
    scores = {c: Score() for c in CATEGORIES if any(k.category == c for k in cases)}
    results = []
    for case in cases:
        result = run_case(case)
        results.append(result)
        score = scores[case.category]
        score.cases += 1
        score.fn += len(result.missing)
        score.tp += len(result.expected) - len(result.missing)
        score.fp += len(result.unexpected)
        if result.passed:
            score.passed += 1
        else:
            score.failures.append(result)
    return Report(scores, tuple(results))


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What screening raised on a generated feed: records with any finding, and the
    findings by rule."""

    records: int
    flagged: int
    rules: Mapping[str, int]

    @property
    def share(self) -> float:
        return self.flagged / self.records if self.records else 0.0

    @property
    def passed(self) -> bool:
        return self.share <= BENIGN_LIMIT


def benign_check(records: int = BENIGN_RECORDS) -> FeedCheck:
    """Screen :func:`services.evaluation.feeds.benign_feed` with the ``BENIGN_LIST`` list."""
    ctx = context(BENIGN_LIST)
    flagged, rules = 0, Counter[str]()
    for raw in benign_feed(records, ctx.ruleset):
        findings = screen(parse_transfer(raw), ctx)
        flagged += bool(findings)
        rules.update(f.rule_id for f in findings)
    return FeedCheck(records, flagged, dict(sorted(rules.items())))


def describe_feed(check: FeedCheck) -> str:
    verdict = "within" if check.passed else "OVER"
    line = (
        f"benign feed: {check.flagged} of {check.records:,} records ({check.share:.2%}) raise a "
        f"finding, {verdict} the {BENIGN_LIMIT:.0%} limit"
    )
    if check.rules:
        line += "; " + ", ".join(f"{rule} {n}" for rule, n in check.rules.items())
    return line


def describe_finding(f: Finding) -> str:
    who = ""
    if f.designated is not None:
        who = f" {f.designated.reference_number} (score {f.designated.score:.3f})"
    return f"{f.kind.value} {f.rule_id} [{f.regime}]{who}"


def describe_failure(r: CaseResult) -> str:
    lines = [f"{r.case.id} ({r.case.category}, list {r.case.list})"]
    lines.append("  expected: " + ("; ".join(map(str, r.expected)) or "(nothing)"))
    lines.append("  actual:   " + ("; ".join(map(describe_finding, r.actual)) or "(nothing)"))
    if r.missing:
        lines.append("  missing:  " + "; ".join(map(str, r.missing)))
    if r.unexpected:
        lines.append("  extra:    " + "; ".join(map(describe_finding, r.unexpected)))
    return "\n".join(lines)


def _figure(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.3f}"


def _row(name: str, s: Score) -> str:
    return (
        f"{name:<26}{s.cases:>6}{s.passed:>6}{s.tp:>5}{s.fp:>5}{s.fn:>5}"
        f"{_figure(s.precision, 11)}{_figure(s.recall, 8)}"
    )


def format_report(report: Report, feed: FeedCheck | None = None) -> str:
    head = f"{'category':<26}{'cases':>6}{'pass':>6}{'TP':>5}{'FP':>5}{'FN':>5}"
    head += f"{'precision':>11}{'recall':>8}"
    lines = [head, "-" * len(head)]
    total = Score()
    for name, s in report.categories.items():
        lines.append(_row(name, s))
        total.cases += s.cases
        total.passed += s.passed
        total.tp, total.fp, total.fn = total.tp + s.tp, total.fp + s.fp, total.fn + s.fn
    lines += ["-" * len(head), _row("all", total)]
    if feed is not None:
        lines += ["", describe_feed(feed)]
    failures = report.failures
    if failures:
        lines += ["", f"{len(failures)} failing case(s):"]
        lines += [describe_failure(r) for r in failures]
    return "\n".join(lines)


def main() -> int:
    print(format_report(evaluate(load_cases()), benign_check()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
