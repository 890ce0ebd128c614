"""The listed names as the index holds them: one entry per matchable spelling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.core.name_normalisation import NameForm, name_form, without_brackets
from services.core.sanctions_list import AliasQuality, ListedParty, PartyKind

MatchedOn = Literal["name", "alias", "weak_alias", "former_name", "original_script"]
#: How a name is written for comparison: as listed; as both romanisations of an Arabic
#: name read it; by the consonants Arabic script writes (see services.core.names.romanisation).
View = Literal["listed", "reading", "consonants"]

_ALIAS_KIND: dict[AliasQuality, MatchedOn] = {
    AliasQuality.GOOD: "alias", AliasQuality.AKA: "alias",
    AliasQuality.FKA: "former_name", AliasQuality.LOW: "weak_alias",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One matchable name of one party."""

    party: int
    text: str
    form: NameForm
    matched_on: MatchedOn
    person: bool  # an individual's name parts may be left out of a query
    view: View = "listed"
    #: In another view, the name as listed: what it says of itself (one word, generic
    #: words) does not change with how it is written.
    listed: NameForm | None = None

    @property
    def as_listed(self) -> NameForm:
        return self.listed or self.form

    @property
    def thin(self) -> bool:
        """One short word ("RGB", "Tek"), or an individual's single name ("Wali Mohammad"
        is "mohammad" once the title goes): many others carry it."""
        form = self.as_listed
        return form.short or (self.person and len(form.tokens) == 1)


def entries_of(index: int, party: ListedParty) -> list[Entry]:
    """Every matchable name of a party, each distinct spelling once."""
    named: list[tuple[str, MatchedOn]] = [(party.name, "name")]
    if party.original_script:
        named.append((party.original_script, "original_script"))
    named += [(a.name, _ALIAS_KIND[a.quality]) for a in party.aliases]
    entries, seen = [], set()
    person = party.kind is PartyKind.INDIVIDUAL
    for text, on in named:
        # An acronym or script in brackets is an aside, not a name part that a
        # query must repeat: the name is also matchable without it.
        for variant in (text, without_brackets(text)):
            form = name_form(variant) if variant else None
            if form and form.core_tokens and form.tokens not in seen:
                seen.add(form.tokens)
                entries.append(Entry(index, text, form, on, person))
    return entries
