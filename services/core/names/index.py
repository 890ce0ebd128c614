"""The designated names, folded once, and the retrieval of the few worth scoring.

:meth:`NameIndex.search` retrieves candidate names through token, phonetic,
one-deletion and trigram keys and scores only those, with the same scorer
:meth:`NameIndex.brute_force_search` applies to every name. Each name is looked up
in each view it is written in (see services.core.names.romanisation), with its own keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from services.core.name_normalisation import NameForm, name_form
from services.core.names.alignment import Comparison, compare_names, similarity_bound
from services.core.names.entries import Entry, View, entries_of
from services.core.names.facts import Feature, Query, fold_identifier, name_floor, query
from services.core.names.retrieval import Retrieval, remember
from services.core.names.romanisation import query_form, query_view, views_of
from services.core.names.scoring import NameMatch, Scored, explain_names, rank, reported
from services.core.names.tuning import (
    EXPLANATION_CACHE,
    KIND_WEIGHTS,
    NEAR_MISS_FLOOR,
    READ_ALIKE,
    RESULT_CACHE,
)
from services.core.sanctions_list import ListedParty

#: A query's forms, by the view each is compared in.
Forms = Mapping[View, NameForm]


class NameIndex:
    """Designated names, folded once, with lookup keys for fast candidate retrieval.

    Immutable after :meth:`build`; ``search`` may be called from several
    threads (its caches only ever hold recomputable values).
    """

    def __init__(self, parties: tuple[ListedParty, ...], entries: tuple[Entry, ...]) -> None:
        self._parties = parties
        self._entries = entries
        self._results: dict[tuple[View, tuple[str, ...], str, float], tuple[Scored, ...]] = {}
        self._explanations: dict[tuple[str, int], Feature] = {}
        self._query_forms: dict[str, Forms] = {}
        weights = [KIND_WEIGHTS[e.matched_on] for e in entries]
        ids: dict[View, list[int]] = {}
        for e_id, entry in enumerate(entries):
            ids.setdefault(entry.view, []).append(e_id)
        self._views = {
            view: Retrieval(
                entries,
                found,
                weights=weights,
                core_lengths=[e.form.core_total for e in entries],
                party_of=[e.party for e in entries],
                parties=len(parties),
            )
            for view, found in ids.items()
        }
        self._common_entry = [self._views[e.view].is_common(e.form) for e in entries]
        by_document: dict[str, list[int]] = {}
        for e_id, entry in enumerate(entries):
            for doc in parties[entry.party].documents:
                if doc.number and (number := fold_identifier(doc.number)):
                    by_document.setdefault(number, []).append(e_id)
        self._by_document = {n: tuple(found) for n, found in by_document.items()}

    @classmethod
    def build(cls, parties: Iterable[ListedParty]) -> NameIndex:
        listed = tuple(parties)
        entries = []
        for i, party in enumerate(listed):
            named = entries_of(i, party)
            entries += named + views_of(party, named)
        return cls(listed, tuple(entries))

    def __len__(self) -> int:
        return len(self._entries)

    def search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
        floor: float = NEAR_MISS_FLOOR,
    ) -> list[NameMatch]:
        """Screen ``name``: the best-scoring parties, score descending, at most ``limit``.

        ``country`` is an ISO alpha-2 code (or a country name), ``date_of_birth``
        ``YYYY-MM-DD`` or ``YYYY``, ``identifiers`` document numbers (passport,
        registration), ``party_type`` the record's party type ("armed_group"
        supports a listed entity's acronym); they only adjust scores. Never
        raises on arbitrary text: a name without distinctive tokens returns ``[]``.
        """
        forms = self._forms(name)
        identifiers = tuple(identifiers)
        least = name_floor(floor, bool(date_of_birth), bool(identifiers))
        if len(forms) == 1:  # most names: not read as another's
            similar = self._similar("listed", forms["listed"], least)
        else:
            similar = tuple(s for v, f in forms.items() for s in self._similar(v, f, least))
        if identifiers:
            similar += self._documented(forms, least, identifiers, similar)
        if not similar:
            return []  # most party names: nothing on the list is like them
        q = query(forms["listed"], country, date_of_birth, identifiers, party_type)
        return self._rank(q, forms, similar, limit, floor)

    def brute_force_search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
        floor: float = NEAR_MISS_FLOOR,
    ) -> list[NameMatch]:
        """As :meth:`search`, scoring every listed name in every view: the recall baseline."""
        forms = self._forms(name)
        q = query(forms["listed"], country, date_of_birth, identifiers, party_type)
        least = name_floor(floor, bool(date_of_birth), bool(q.identifiers))
        every = range(len(self._entries))
        return self._rank(q, forms, self._score_names(forms, least, every), limit, floor)

    def _forms(self, name: str) -> Forms:
        """``name`` in each view it is compared in: as written, and read where one of its
        words, read, is a word of a listed name so read (see _read_alike): a name none of
        whose words is read so is not read alike. Cached per name: a feed repeats them."""
        forms = self._query_forms.get(name)
        if forms is None:
            form = name_form(name)
            forms = {"listed": form}
            other = query_view(name, form)
            if other is not None and other[0] in self._views:
                view, words = other
                if self._views[view].knows_a_word(words):
                    forms[view] = query_form(view, name)
            remember(self._query_forms, name, forms, RESULT_CACHE)
        return forms

    def _rank(
        self, q: Query, forms: Forms, similar: Iterable[Scored], limit: int, floor: float
    ) -> list[NameMatch]:
        hits = rank(
            q,
            similar,
            entries=self._entries,
            parties=self._parties,
            common=self._common_entry,
            common_query={view: self._views[view].is_common(f) for view, f in forms.items()},
            floor=floor,
        )
        found = []
        for hit in hits[: max(limit, 0)]:
            # A party that matches once is usually named again, spelled the same way; the
            # folded query fixes its tokens (in every view) and the entry id the listed name.
            key = (q.form.folded, hit.e_id)
            entry = hit.case.entry
            feature = self._explanations.get(key)
            if feature is None:
                feature = explain_names(forms[entry.view], entry.form, partial=entry.person)
                if entry.view != "listed":
                    feature = _read(feature, entry.view, q.form, entry.as_listed)
                remember(self._explanations, key, feature, EXPLANATION_CACHE)
            found.append(reported(q, hit, self._parties[entry.party], feature))
        return found

    def _documented(
        self,
        forms: Forms,
        least: float,
        identifiers: Iterable[str],
        similar: Iterable[Scored],
    ) -> tuple[Scored, ...]:
        """The names of the parties whose listed document numbers the query gives,
        scored, that name retrieval has not found: a matching passport number is
        reason enough to compare the names ("Abu ydah" for ABU UBAYDAH)."""
        found = {scored.e_id for scored in similar}
        ids = [
            e_id
            for number in identifiers
            for e_id in self._by_document.get(fold_identifier(number), ())
            if e_id not in found
        ]
        return tuple(self._score_names(forms, least, dict.fromkeys(ids)))

    def _similar(self, view: View, form: NameForm, least: float) -> tuple[Scored, ...]:
        """Entries of ``view`` whose weighted name score reaches ``least``, with their
        similarity.

        Depends on the name's tokens and letters only, so it is cached per
        spelling of them: spellings that fold alike ("ACME Ltd", "Acme Limited")
        share one entry. Country, date of birth and documents, which differ
        between records naming the same party, are applied afterwards. Most names
        in a feed match nothing and cache as ``()``.
        """
        key = (view, form.tokens, form.letters, least)
        cached = self._results.get(key)
        if cached is None:
            retrieval = self._views.get(view)
            # A name read alike pairs every word (see _read_alike): only names that each
            # of its words reaches, or whose letters are alike, can.
            read = view != "listed"
            found = retrieval.candidates(form, least, every_word=read) if retrieval else []
            scored = tuple(self._score_names({view: form}, least, found))
            cached = remember(self._results, key, scored, RESULT_CACHE)
        return cached

    def _score_names(
        self, forms: Forms, least: float, entry_ids: Iterable[int]
    ) -> Iterator[Scored]:
        """The entries whose weighted name score reaches ``least`` (see name_floor), each
        compared with the query's form in the entry's view."""
        memo: dict[str, dict[str, float]] = {}
        for e_id in entry_ids:
            entry = self._entries[e_id]
            form = forms.get(entry.view)
            if form is None or not form.core_tokens:
                continue
            weight = KIND_WEIGHTS[entry.matched_on]
            if similarity_bound(form, entry) * weight < least:
                continue  # cheap and exact: lengths alone rule it out
            if entry.view != "listed" and similarity_bound(form, entry) < READ_ALIKE:
                continue  # nor read alike (see _read_alike)
            match = compare_names(form, entry.form, partial=entry.person, memo=memo)
            if match.sim * weight >= least and (entry.view == "listed" or _read_alike(match)):
                yield Scored(e_id, match.sim, match.loose, match.part)


def _read_alike(match: Comparison) -> bool:
    """Whether two names read alike word for word, as closely as a match needs: another
    romanisation of the listed name. Names that only come near once read say no more
    than their letters as written, which the listed view scores."""
    return match.sim >= READ_ALIKE and not match.loose and not match.part


def _read(feature: Feature, view: View, q: NameForm, listed: NameForm) -> Feature:
    """``feature``, the similarity of two names in ``view``, saying how they were read."""
    name, effect, detail = feature
    how = (
        "read as romanisations of one Arabic name"
        if view == "reading"
        else "compared by the consonants of a name in Arabic script"
    )
    return name, effect, f"{detail}; {how}: {q.folded!r} and {listed.folded!r}"
