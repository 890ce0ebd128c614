"""How findings put things in words: items, parties, dates, lists and procedures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from services.core import items as item_vocabulary
from services.core.goods import ClassifiedItem
from services.core.rules import Exemption, Phase, Procedure, procedure_words
from services.core.transfers import Party


def items_words(items: Sequence[ClassifiedItem], lower: Literal["first", "all"] = "first") -> str:
    """'120 × rifles and carbines, 2 more item lines': the first three lines, then a count.

    ``lower="first"`` lower-cases a label's first letter unless an acronym starts it
    ("UN Register II: …" stays); ``"all"`` lower-cases the whole label, as the
    diversion indicators' summaries always have.
    """
    case = _lower_first if lower == "first" else str.lower
    words = [
        f"{ci.item.quantity:g} × {case(item_vocabulary.label(ci.category))}" for ci in items[:3]
    ]
    if len(items) > 3:
        words.append(f"{len(items) - 3} more item lines")
    return ", ".join(words)


def _lower_first(label: str) -> str:
    """'Rifles and carbines' -> 'rifles and carbines'; 'UN Register II: …' stays."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def role_words(party: Party) -> str:
    """'end user', 'freight forwarder'."""
    return party.role.value.replace("_", " ")


def where_words(party: Party) -> str:
    """' (HT)' after a name, or nothing when the party names no country."""
    return f" ({party.country})" if party.country else ""


def party_words(party: Party | None) -> str:
    """ "end user 'Acme' (company)", or that the record names no one who receives the goods."""
    if party is None:
        return "no end user, consignee or importer named"
    return f"{role_words(party)} {party.name!r} ({party.type.value})"


def and_words(parts: Sequence[str]) -> str:
    """'a, b and c'."""
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def date_words(d: date | None) -> str:
    return d.isoformat() if d else "unknown"


def dispute_words(phase: Phase) -> str:
    """What a summary must say of a measure whose validity is contested (Iran's snapback)."""
    return "; the measure is legally disputed (see the caveat)" if phase.disputed else ""


def reference_words(
    procedure: Procedure | None, phase: Phase, reference: str | None
) -> tuple[bool, str]:
    """Whether a Committee reference may lift the embargo for this supply, and what the
    summary adds: the reference to verify, or that the procedure's decision is missing.

    A cited decision is for a reviewer to check, not a violation to assert.
    """
    if procedure is None or procedure is Procedure.NONE:
        return False, ""
    if reference:
        return True, f"; verify Committee reference {reference!r}"
    return False, f"; no {procedure_words(procedure, phase)} is referenced"


def purpose_words(ex: Exemption, phase: Phase, on: date) -> str:
    """The summary after the embargo for goods of an exemption whose purpose the record does
    not state: the condition, the paragraph that sets it, the procedure if any, what to check.

    "the goods are exempt (S/RES/2293 (2016), para 3 (c)) only if intended solely for
    humanitarian or protective use, and the record states no such purpose in its declared end
    use or claimed exemption: check what the goods are for"
    """
    purpose = ex.purpose
    if purpose is None:
        return ""
    cited = [c for c in ex.citations if c.adopted_by(on)] or list(ex.citations)
    sources = [str(cited[0])] if cited else []
    if purpose.confidence == "unconfirmed":
        sources.append("wording unconfirmed")
    source = f" ({', '.join(sources)})" if sources else ""
    condition = purpose.condition
    if ex.procedure is not Procedure.NONE:
        condition += f" and with {procedure_words(ex.procedure, phase)}"
    stated = "the record states no such purpose in its declared end use or claimed exemption"
    check = ": check what the goods are for" if ex.procedure is Procedure.NONE else ""
    return f"the goods are exempt{source} only if {condition}, and {stated}{check}"
