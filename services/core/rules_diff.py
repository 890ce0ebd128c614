"""What changed between two versions of the rules table, in a reviewer's words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Phase fields in the order a reviewer reads them, with their names in words.
FIELD_WORDS = {
    "start": "start date",
    "end": "end date",
    "scope": "scope",
    "direction": "direction",
    "items": "items covered",
    "assistance": "technical/financial assistance covered",
    "otherwise": "procedure for other transfers",
    "exemptions": "exemptions",
    "citations": "citations",
    "confidence": "confidence",
    "caveat": "caveat",
    "summary": "summary",
    "lapses": "lapse date (unless renewed)",
}
REGIME_FIELDS = ("name", "committee", "list_type", "territory", "neighbours")


def _by_regime(documents: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {doc["id"]: doc for doc in documents.values()}


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict) and "last_day" in value:
        return _show_lapse(value)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            keys = [v.get("id") or v.get("symbol") or "?" for v in value]
            return "[" + ", ".join(map(str, keys)) + "]"
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _show_lapse(lapse: Mapping[str, Any]) -> str:
    """'2026-05-31 (set by S/RES/2781 (2025))', and whether the date is unconfirmed."""
    mark = ", date unconfirmed" if lapse.get("confidence") == "unconfirmed" else ""
    return f"{lapse['last_day']} (set by {lapse['set_by']['symbol']}{mark})"


def _exemption_changes(old: list[Any], new: list[Any]) -> list[str]:
    before = {e["id"]: e for e in old}
    after = {e["id"]: e for e in new}
    out = [
        f"exemption {i} added: {after[i]['description']} ({after[i]['procedure']})"
        for i in after.keys() - before.keys()
    ]
    out += [
        f"exemption {i} removed: {before[i]['description']}" for i in before.keys() - after.keys()
    ]
    for i in sorted(before.keys() & after.keys()):
        for key in sorted(set(before[i]) | set(after[i])):
            if before[i].get(key) != after[i].get(key):
                out.append(
                    f"exemption {i}: {key} changed from {_show(before[i].get(key))} "
                    f"to {_show(after[i].get(key))}"
                )
    return sorted(out)


def _phase_changes(regime: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    out = []
    for key, words in FIELD_WORDS.items():
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key == "exemptions":
            out += [
                f"{regime} phase {new['id']}: {c}" for c in _exemption_changes(a or [], b or [])
            ]
        elif key in ("summary", "caveat"):
            out.append(f"{regime} phase {new['id']}: {words} reworded")
        else:
            out.append(f"{regime} phase {new['id']}: {words} changed from {_show(a)} to {_show(b)}")
    return out


def _phase_line(regime: str, phase: Mapping[str, Any]) -> str:
    end = phase.get("end") or "open-ended"
    return (
        f"{regime} phase {phase['id']} ({phase['start']} to {end}; "
        f"{', '.join(phase['scope'])}; {phase['items']}; {phase['direction']})"
    )


def describe(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """One sentence per change from ``old`` documents to ``new`` documents."""
    a, b = _by_regime(old), _by_regime(new)
    out = [
        f"regime {r} ({b[r]['name']}) added with {len(b[r]['phases'])} phase(s)"
        for r in sorted(b.keys() - a.keys())
    ]
    out += [f"regime {r} ({a[r]['name']}) removed" for r in sorted(a.keys() - b.keys())]
    for r in sorted(a.keys() & b.keys()):
        out += [
            f"{r}: {f} changed from {_show(a[r].get(f))} to {_show(b[r].get(f))}"
            for f in REGIME_FIELDS
            if a[r].get(f) != b[r].get(f)
        ]
        pa = {p["id"]: p for p in a[r]["phases"]}
        pb = {p["id"]: p for p in b[r]["phases"]}
        out += [f"added {_phase_line(r, pb[i])}" for i in sorted(pb.keys() - pa.keys())]
        out += [f"removed {_phase_line(r, pa[i])}" for i in sorted(pa.keys() - pb.keys())]
        for i in sorted(pa.keys() & pb.keys()):
            out += _phase_changes(r, pa[i], pb[i])
    return out
