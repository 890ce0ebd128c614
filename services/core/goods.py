"""A transfer's goods: each item line with its category, and what a phase's item scope covers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.core import items as item_vocabulary
from services.core.items import SalwDoubt
from services.core.rules import ItemScope, Phase
from services.core.transfers import Item, Transfer


@dataclass(frozen=True, slots=True)
class ClassifiedItem:
    item: Item
    category: str
    note: str | None
    #: Why the goods may be SALW though ``category`` is not (see :class:`SalwDoubt`).
    may_be_salw: SalwDoubt | None = None


@lru_cache(maxsize=65536)  # screening and indicators both ask; item lines recur in feeds
def _classify(item: Item) -> ClassifiedItem:
    c = item_vocabulary.classify(
        item.category, item.hs_code, item.ml_code, item.calibre, item.description
    )
    return ClassifiedItem(item, c.category, c.note, c.may_be_salw)


def classify_items(transfer: Transfer) -> tuple[ClassifiedItem, ...]:
    return tuple(_classify(it) for it in transfer.items)


def in_item_scope(phase: Phase, category: str) -> bool:
    if item_vocabulary.is_assistance(category):
        return phase.assistance
    if phase.item_scope is ItemScope.SALW:
        return item_vocabulary.is_salw(category)
    return True


def may_be_in_item_scope(phase: Phase, ci: ClassifiedItem) -> bool:
    """Outside a SALW-only ``phase`` by its category, but inside if the goods are the SALW
    they may be (an undescribed ML4 line, an 82 mm mortar, pistol parts)."""
    return (
        ci.may_be_salw is not None
        and phase.item_scope is ItemScope.SALW
        and not in_item_scope(phase, ci.category)
    )
