"""How a re-screen compares a transfer's stored findings with its new ones, and the
sentence a panel reads."""

from __future__ import annotations

import dataclasses
from datetime import date

from services.cli.rescreen import headline
from services.core.findings import Finding, Kind, Severity
from services.store.rescreen import Brief, StoredFinding, Tally, TransferChange, compare


def finding(rule: str, regime: str | None = "HT") -> Finding:
    return Finding(
        record_id="r-0",
        kind=Kind.VIOLATION,
        regime=regime,
        rule_id=rule,
        phase=None,
        severity=Severity.HIGH,
        summary="s.",
        citations=(),
    )


def stored(f: Finding, row: int, *, superseded: bool = False) -> StoredFinding:
    return StoredFinding(dataclasses.replace(Brief.of(f), id=row), superseded)


def test_each_finding_is_new_in_force_again_superseded_or_unchanged_by_its_key() -> None:
    kept, gone, back, fresh, old = (finding(r) for r in ("kept", "gone", "back", "fresh", "old"))
    rows = [
        stored(kept, 1),
        stored(gone, 2),
        stored(back, 3, superseded=True),
        stored(old, 4, superseded=True),  # superseded before, still not yielded: no change
    ]
    change = compare(rows, [kept, back, fresh])
    assert [f.rule_id for f in change.new] == ["fresh"]
    assert [(b.rule_id, b.id) for b in change.restored] == [("back", 3)]
    assert [(b.rule_id, b.id) for b in change.superseded] == [("gone", 2)]
    assert [(b.rule_id, b.id) for b in change.unchanged] == [("kept", 1)]
    assert change.changed
    assert not compare([stored(kept, 1), stored(old, 4, superseded=True)], [kept]).changed


def test_a_finding_worded_otherwise_is_the_same_finding() -> None:
    before = finding("HT.territory")
    after = dataclasses.replace(before, summary="new.", severity=Severity.LOW)
    assert not compare([stored(before, 1)], [after]).changed


def tally(applied: bool) -> Tally:
    t = Tally(applied=applied)
    change = compare(
        [
            stored(finding("ly", "LY"), 1),
            stored(finding("back"), 2, superseded=True),
            stored(finding("cert", None), 3),
        ],
        [finding("new-1"), finding("new-2", "LY"), finding("back"), finding("cert", None)],
    )
    t.add(TransferChange("it", "r-0", date(2025, 1, 1), change))
    for i in range(1203):
        t.add(TransferChange("it", f"r-{i + 1}", date(2025, 1, 1), compare([], [])))
    return t


def test_the_headline_says_what_would_change_by_regime() -> None:
    assert headline(tally(applied=False)) == (
        "3 new findings (HT 2, LY 1), 1 of them in force again; 1 would be superseded (LY 1); "
        "1 transfer would change, 1,203 unchanged"
    )
    assert headline(tally(applied=True)) == (
        "3 new findings added (HT 2, LY 1), 1 of them in force again; 1 superseded (LY 1); "
        "1 transfer changed, 1,203 unchanged"
    )
    assert headline(Tally(applied=False)) == (
        "0 new findings; 0 would be superseded; 0 transfers would change, 0 unchanged"
    )
