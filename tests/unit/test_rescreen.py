"""How a re-screen compares a transfer's stored findings with its new ones, and the
sentence a panel reads."""

from __future__ import annotations

import dataclasses
from datetime import date

from services.cli.rescreen import headline
from services.core.findings import DesignatedRef, Finding, Kind, Severity, material
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
    return StoredFinding(
        dataclasses.replace(Brief.of(f), id=row), superseded, material(f.to_dict())
    )


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


def test_a_finding_worded_otherwise_is_the_same_finding_with_its_content_changed() -> None:
    before = finding("HT.territory")
    after = dataclasses.replace(before, summary="new.", severity=Severity.LOW)
    change = compare([stored(before, 1)], [after])
    assert change.changed
    assert (change.new, change.unchanged) == ((), ())
    assert [(b.id, b.summary, b.severity) for b in change.amended] == [(1, "new.", "low")]
    # Evidence and versions are not what a reviewer decided on.
    same = dataclasses.replace(before, evidence={"x": 1}, ruleset_version=7, list_version="v")
    assert not compare([stored(before, 1)], [same]).changed


def test_a_list_entry_is_material_by_its_names_and_its_score_as_shown() -> None:
    listed = DesignatedRef("HTi.001", "JIMMY CHERIZIER", "Jimmy Cherizier", 0.9312)
    before = dataclasses.replace(finding("HT.designated"), designated=listed)
    for changed, expected in (
        (dataclasses.replace(listed, score=0.9349), False),  # 0.93 either way
        (dataclasses.replace(listed, score=0.935), True),  # 0.94: half up, as PostgreSQL
        (dataclasses.replace(listed, matched_name="Barbecue"), True),
        (dataclasses.replace(listed, name="JIMMY CHERIZIER (BARBECUE)"), True),
    ):
        after = dataclasses.replace(before, designated=changed)
        assert (material(before.to_dict()) != material(after.to_dict())) is expected
    cited = dataclasses.replace(before, citations=("S/RES/2653 (2022), para 11",))
    assert material(before.to_dict()) != material(cited.to_dict())
    # A stored row's columns read the same as the finding's dictionary.
    row = {**before.to_dict(), "severity": Severity.HIGH, "citations": []}
    assert material(row) == material(before.to_dict())


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


def test_the_headline_says_how_many_findings_changed_in_content() -> None:
    t = Tally(applied=True)
    kept = finding("HT.territory")
    reworded = dataclasses.replace(kept, summary="reworded.")
    t.add(TransferChange("it", "r-0", date(2025, 1, 1), compare([stored(kept, 1)], [reworded])))
    assert headline(t) == (
        "0 new findings; 0 superseded; 1 changed in content, decided ones reopened (HT 1); "
        "1 transfer changed, 0 unchanged"
    )
