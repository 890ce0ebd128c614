"""What a finding's evidence says of its items and parties: one shape each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.core.goods import ClassifiedItem
from services.core.transfers import Party

#: A party's evidence fields, in the order stored findings hold them.
PARTY_FIELDS = ("role", "name", "country", "type")


def items_evidence(items: Sequence[ClassifiedItem]) -> list[dict[str, Any]]:
    return [
        {
            "category": ci.category,
            "quantity": ci.item.quantity,
            "description": ci.item.description,
            "classification_note": ci.note,
        }
        for ci in items
    ]


def party_evidence(party: Party, fields: Sequence[str] = PARTY_FIELDS) -> dict[str, Any]:
    """``fields`` of ``party`` (any of :data:`PARTY_FIELDS`), in the order given."""
    values = {
        "role": party.role.value,
        "name": party.name,
        "country": party.country,
        "type": party.type.value,
    }
    return values if fields is PARTY_FIELDS else {f: values[f] for f in fields}
