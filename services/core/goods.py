"""A transfer's goods: each item line with its category, and what a phase's item scope covers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.core import items as item_vocabulary
from services.core.rules import ItemScope, Phase
from services.core.transfers import Item, Transfer


@dataclass(frozen=True, slots=True)
class ClassifiedItem:
    item: Item
    category: str
    note: str | None


@lru_cache(maxsize=65536)  # screening and indicators both ask; item lines recur in feeds
def _classify(item: Item) -> ClassifiedItem:
    c = item_vocabulary.classify(item.category, item.hs_code, item.ml_code, item.calibre)
    return ClassifiedItem(item, c.category, c.note)


def classify_items(transfer: Transfer) -> tuple[ClassifiedItem, ...]:
    return tuple(_classify(it) for it in transfer.items)


def in_item_scope(phase: Phase, category: str) -> bool:
    if item_vocabulary.is_assistance(category):
        return phase.assistance
    if phase.item_scope is ItemScope.SALW:
        return item_vocabulary.is_salw(category)
    return True
