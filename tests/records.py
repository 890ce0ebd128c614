"""Building transfer records for tests."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "record_id": "r-0",
    "transfer_date": "2024-11-20",
    "status": "shipped",
    "route": {"origin": "US", "destination": "HT"},
    "parties": [
        {
            "role": "exporter",
            "name": "Gulf Coast Sporting Arms LLC",
            "country": "US",
            "type": "company",
        },
        {
            "role": "end_user",
            "name": "Caribbean Import Services SA",
            "country": "HT",
            "type": "company",
        },
    ],
    "items": [
        {"category": "small_arms.revolver_pistol", "description": "9mm pistols", "quantity": 120}
    ],
}


def record(record_id: str = "r-0", **changes: Any) -> dict[str, Any]:
    """A valid record (pistols to a company in Haiti, 2024-11-20) with top-level changes."""
    rec = copy.deepcopy(BASE)
    rec["record_id"] = record_id
    rec.update(changes)
    return rec


def end_user(rec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    rec = copy.deepcopy(rec)
    rec["parties"][1].update(changes)
    return rec


def invalid_variants(i: int) -> dict[str, Any]:
    """Records that break the schema in different ways, cycling through ``i``."""
    rec = record(f"bad-{i}")
    match i % 5:
        case 0:
            del rec["transfer_date"]
        case 1:
            rec["route"]["destination"] = "Haiti"
        case 2:
            rec["items"][0]["category"] = "pistols"
        case 3:
            rec["parties"] = []
        case _:
            rec["transfer_date"] = "2024-13-45"
    return rec


def batch(n: int, invalid_every: int = 20) -> list[dict[str, Any]]:
    """``n`` records: every ``invalid_every``-th is invalid; dates and places vary."""
    out = []
    for i in range(n):
        if i % invalid_every == invalid_every - 1:
            out.append(invalid_variants(i))
            continue
        rec = record(f"rec-{i:05d}")
        rec["transfer_date"] = ("2023-06-15", "2023-11-14", "2024-11-20", "2025-03-01")[i % 4]
        rec["route"]["destination"] = ("HT", "FR", "HT", "BR")[i % 4]
        out.append(rec)
    return out
