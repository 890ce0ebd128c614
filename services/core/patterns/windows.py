"""Which sets of related transfers hold a pattern, and which a change can alter."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from services.core.patterns.facts import (
    FAMILY,
    PATTERNS,
    Family,
    Goods,
    PartyFacts,
    Pattern,
    TransferFacts,
)
from services.core.patterns.findings import (
    PatternFinding,
    group_of,
    reused_finding,
    split_finding,
    surge_finding,
)
from services.core.patterns.tuning import PatternRules
from services.core.wording import and_words


@dataclass(frozen=True, slots=True)
class Span:
    """Findings anchored from ``lo`` to ``hi`` are the ones a change can alter; deciding
    them takes the transfers dated ``load_lo`` to ``load_hi``. None: no bound."""

    lo: date | None = None
    hi: date | None = None
    load_lo: date | None = None
    load_hi: date | None = None

    def covers(self, anchor: date) -> bool:
        return _within(anchor, self.lo, self.hi)

    def loads(self, on: date) -> bool:
        return _within(on, self.load_lo, self.load_hi)


def _within(d: date, lo: date | None, hi: date | None) -> bool:
    return (lo is None or lo <= d) and (hi is None or d <= hi)


EVERYTHING = Span()


def span(pattern: Pattern, dates: Iterable[date], rules: PatternRules) -> Span:
    """What a change to transfers dated ``dates`` (their old and new dates) can alter.

    A split window anchored at ``a`` holds the transfers of ``[a, a+W-1]``: a change at
    ``d`` alters windows anchored in ``[d-W+1, d]``, and whether a window anchored up to
    ``W-1`` days either side is still the largest. A surge window ending at ``e`` reads
    ``[e-S+1, e]`` and the history of ``H`` days before it: a change at ``d`` alters those
    ending in ``[d, d+S+H-1]``, and whether a window up to ``S-1`` days earlier is the
    largest. Each span below is a day wider each side than that, and loads what deciding
    its first and last windows reads. A certificate's set is every transfer naming it.
    """
    days = sorted(dates)
    first, last = days[0], days[-1]
    if pattern is Pattern.SPLIT_SHIPMENT:
        w = timedelta(days=rules.split_window_days)
        return Span(first - w, last + w, first - 2 * w, last + 2 * w)
    if pattern is Pattern.SURGE:
        s = timedelta(days=rules.surge_window_days)
        h = timedelta(days=rules.surge_history_days)
        return Span(first - s, last + s + h, first - 2 * s - h, last + 2 * s + h)
    return EVERYTHING


@dataclass(frozen=True, slots=True)
class Check:
    """One pattern to decide again for one look-up key, over one span."""

    pattern: Pattern
    key: str
    span: Span

    @property
    def family(self) -> Family:
        return FAMILY[self.pattern]

    @property
    def group(self) -> str:
        """What the pattern's findings for this key are filed under."""
        return group_of(self.pattern, self.key)


def checks(
    changes: Iterable[tuple[TransferFacts | None, TransferFacts | None]], rules: PatternRules
) -> list[Check]:
    """What to decide again when transfers change from the first facts to the second
    (None: not there): every pattern of every key either names, over the span of their
    dates, in key order."""
    dates: dict[tuple[Family, str], set[date]] = {}
    for old, new in changes:
        for facts in (old, new):
            if facts is not None:
                for family_key in facts.lookup_keys():
                    dates.setdefault(family_key, set()).add(facts.transfer_date)
    return [
        Check(pattern, key, span(pattern, on, rules))
        for (family, key), on in sorted(dates.items())
        for pattern in PATTERNS[family]
    ]


# --- Deciding which sets hold -----------------------------------------------------------


def detect(
    pattern: Pattern,
    key: str,
    related: Sequence[TransferFacts],
    rules: PatternRules,
    within: Span = EVERYTHING,
) -> list[PatternFinding]:
    """The findings of ``pattern`` among ``related`` (the transfers ``key`` finds) that
    are anchored ``within``, in anchor order. ``related`` must hold every transfer of the
    key that the span loads; order does not matter."""
    ordered = sorted(related, key=lambda f: f.order)
    if pattern is Pattern.SPLIT_SHIPMENT:
        return _splits(key, ordered, rules, within)
    if pattern is Pattern.SURGE:
        return _surges(key, ordered, rules, within)
    return _reused(key, ordered, within)


def _splits(
    key: str, ordered: Sequence[TransferFacts], rules: PatternRules, within: Span
) -> list[PatternFinding]:
    found = []
    window = timedelta(days=rules.split_window_days - 1)
    for goods in Goods:
        threshold = rules.threshold(goods)
        small = [f for f in ordered if f.approaches and 0 < f.quantity(goods) < threshold]
        dates = [f.transfer_date for f in small]
        totals = _running([f.quantity(goods) for f in small])
        previous_end = -1
        for i, start in enumerate(dates):
            if i and dates[i - 1] == start:
                continue  # one window per first day
            end = bisect_right(dates, start + window)
            # A window ending where an earlier one ends is part of it: only the largest counts.
            larger = end == previous_end
            previous_end = end
            total = totals[end] - totals[i]
            if larger or end - i < 2 or total < threshold or not within.covers(start):
                continue
            found.append(split_finding(key, goods, small[i:end], total, rules))
    return sorted(found, key=lambda pf: (pf.anchor, pf.key))


def _running(values: Sequence[float]) -> list[float]:
    sums = [0.0]
    for v in values:
        sums.append(sums[-1] + v)
    return sums


@dataclass(frozen=True, slots=True)
class _SurgeWindow:
    start: int
    end: int  # exclusive
    volume: float
    history: int
    history_volume: float


def _surges(
    key: str, ordered: Sequence[TransferFacts], rules: PatternRules, within: Span
) -> list[PatternFinding]:
    found = []
    width = timedelta(days=rules.surge_window_days)
    history = timedelta(days=rules.surge_history_days)
    for goods in Goods:
        carrying = [f for f in ordered if f.quantity(goods) > 0]
        dates = [f.transfer_date for f in carrying]
        totals = _running([f.quantity(goods) for f in carrying])
        windows = []
        for k, last in enumerate(dates):
            if k + 1 < len(dates) and dates[k + 1] == last:
                continue  # one window per last day
            start = bisect_left(dates, last - width + timedelta(days=1))
            before = bisect_left(dates, last - width - history + timedelta(days=1))
            window = _SurgeWindow(
                start,
                k + 1,
                totals[k + 1] - totals[start],
                start - before,
                totals[start] - totals[before],
            )
            if _is_surge(window, carrying, goods, rules):
                windows.append(window)
        for n, w in enumerate(windows):
            # A later surge window from the same first transfer holds this one and more.
            larger = n + 1 < len(windows) and windows[n + 1].start == w.start
            anchor = dates[w.end - 1]
            if not larger and within.covers(anchor):
                found.append(
                    surge_finding(
                        key, goods, carrying[w.start : w.end], (w.history, w.history_volume), rules
                    )
                )
    return sorted(found, key=lambda pf: (pf.anchor, pf.key))


def _is_surge(
    w: _SurgeWindow, carrying: Sequence[TransferFacts], goods: Goods, rules: PatternRules
) -> bool:
    if w.history < rules.surge_min_history or w.volume < rules.threshold(goods):
        return False
    mean = w.history_volume * rules.surge_window_days / rules.surge_history_days
    return w.volume >= rules.surge_factor * mean and any(
        f.approaches for f in carrying[w.start : w.end]
    )


def _reused(key: str, ordered: Sequence[TransferFacts], within: Span) -> list[PatternFinding]:
    if len(ordered) < 2 or not any(f.approaches for f in ordered):
        return []
    exporters = _signatures(f.exporters for f in ordered)
    end_users = _signatures(f.end_users for f in ordered)
    if len(exporters) < 2 and len(end_users) < 2:
        return []
    if not within.covers(ordered[0].transfer_date):
        return []
    return [reused_finding(key, ordered, exporters, end_users)]


def _signatures(parties: Iterable[tuple[PartyFacts, ...]]) -> dict[frozenset[str], str]:
    """Distinct sets of party keys -> the names they were first written as."""
    seen: dict[frozenset[str], str] = {}
    for group in parties:
        keys = frozenset(p.key for p in group if p.key)
        if keys and keys not in seen:
            seen[keys] = and_words([repr(p.name) for p in group if p.key])
    return seen
