"""Properties of ``screen()`` over generated schema-valid transfer records.

Records are drawn from the enums of ``schemas/transfer.v1.json``, the assigned country codes,
dates from 1990 to 2030 and party names that mix random text (any script, right-to-left
marks, emoji) with real names and aliases from the 2025 list. Screening uses the shipped rules
and the 2025 list (the context is shared with the evaluation set and built once).
"""

from __future__ import annotations

import copy
import string
from datetime import date, timedelta
from functools import cache
from typing import Any

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.core import resources
from services.core.context import Context
from services.core.findings import Finding, Kind
from services.core.screening import screen
from services.core.transfers import parse_transfer
from services.core.validation import COUNTRY_CODES, validate_record
from services.evaluation.evaluate import LIST_FILES, context
from services.knowledge import read_list

SCHEMA = orjson.loads(resources.schema_bytes("transfer.v1.json"))
PARTY_SCHEMA = SCHEMA["properties"]["parties"]["items"]["properties"]
ITEM_SCHEMA = SCHEMA["properties"]["items"]["items"]["properties"]
ROLES: list[str] = PARTY_SCHEMA["role"]["enum"]
PARTY_TYPES: list[str] = PARTY_SCHEMA["type"]["enum"]
CATEGORIES: list[str] = ITEM_SCHEMA["category"]["enum"]
STATUSES: list[str] = SCHEMA["properties"]["status"]["enum"]
COUNTRIES = sorted(COUNTRY_CODES)
#: Embargoed territories, and those plus some neighbours, drawn more often than the other
#: 240 codes so that many examples fall under a regime.
TERRITORIES = ["HT", "SO", "SS", "CF", "CD", "LY", "SD", "KP", "IR", "LB", "IQ"]
HOT = [*TERRITORIES, "DO", "KE", "UG", "YE", "AF", "SY"]

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@cache
def ctx() -> Context:
    return context("2025")


@cache
def listed_names() -> tuple[str, ...]:
    """Every primary name, alias and original-script name of the 2025 list."""
    names: list[str] = []
    for p in read_list(LIST_FILES["2025"]).parties:
        names.append(p.name)
        names += [a.name for a in p.aliases if a.name]
        if p.original_script:
            names.append(p.original_script)
    return tuple(sorted({n for n in names if n.strip()}))


# --- strategies ----------------------------------------------------------------------

countries = st.one_of(st.sampled_from(HOT), st.sampled_from(COUNTRIES))
destinations = st.one_of(st.sampled_from(TERRITORIES), countries)
iso_dates = st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(date.isoformat)
#: Most phases began after 2000 and are still in force: weigh recent dates more.
transfer_dates = st.one_of(iso_dates, st.dates(date(2010, 1, 1), date(2030, 12, 31)).map(str))
#: Any Unicode but surrogates and NUL (a record with NUL is rejected: no text column holds it).
storable = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
short_text = st.text(storable, max_size=40)

rtl = st.text(st.characters(min_codepoint=0x0590, max_codepoint=0x06FF), min_size=1, max_size=20)
emoji = st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1, max_size=5)
bidi_marks = st.sampled_from(["\u200f", "\u200e", "\u202e", "\u202c", "\u2067", "\u2069"])


@st.composite
def listed_name(draw: st.DrawFn) -> str:
    """A real list name, sometimes reordered, re-cased or decorated."""
    name = draw(st.sampled_from(listed_names()))
    tokens = name.split()
    if len(tokens) > 1 and draw(st.booleans()):
        tokens = draw(st.permutations(tokens))
    name = " ".join(tokens) or name
    return draw(st.sampled_from([name, name.lower(), name.upper(), f"{name}, Ltd", f"Mr {name}"]))


party_names = st.one_of(
    st.text(storable, min_size=1, max_size=60),  # whitespace included
    st.lists(st.one_of(rtl, emoji, bidi_marks, short_text), min_size=1, max_size=5)
    .map(" ".join)
    .filter(lambda s: len(s) >= 1),
    listed_name(),
)


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    p: dict[str, Any] = {"role": draw(st.sampled_from(ROLES)), "name": draw(party_names)}
    if draw(st.booleans()):
        p["country"] = draw(countries)
    if draw(st.booleans()):
        p["type"] = draw(st.sampled_from(PARTY_TYPES))
    if draw(st.booleans()):
        # The schema only fixes the shape: "2023-99-99" is valid and must not break screening.
        # [0-9], not \d: the schema's patterns are ECMA-262, where \d is an ASCII digit.
        p["date_of_birth"] = draw(st.from_regex(r"\A[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?\Z"))
    if draw(st.booleans()):
        ident = st.fixed_dictionaries(
            {
                "type": st.text(storable, min_size=1, max_size=10),
                "value": st.text(storable, min_size=1, max_size=20),
            }
        )
        p["identifiers"] = draw(st.lists(ident, max_size=2))
    return p


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    it: dict[str, Any] = {
        "description": draw(short_text),
        "quantity": draw(
            st.one_of(
                st.integers(1, 10**6),
                st.floats(0, 1e9, exclude_min=True, allow_nan=False, allow_infinity=False),
            )
        ),
    }
    # At least one of category, hs_code, ml_code (the schema's anyOf).
    keys = draw(st.sets(st.sampled_from(["category", "hs_code", "ml_code"]), min_size=1))
    if "category" in keys:
        it["category"] = draw(st.sampled_from(CATEGORIES))
    if "hs_code" in keys:
        hs = st.sampled_from(["9301", "930190", "9302", "9303", "9305", "9306", "930690", "8710"])
        it["hs_code"] = draw(st.one_of(hs, st.from_regex(r"\A[0-9]{4,10}\Z")))
    if "ml_code" in keys:
        it["ml_code"] = draw(st.from_regex(r"\AML([1-9]|1[0-9]|2[0-2])(\.?[a-z])?\Z"))
    if draw(st.booleans()):
        it["calibre"] = draw(st.text(storable, max_size=10))
    if draw(st.booleans()):
        it["value"] = draw(st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
        it["currency"] = draw(st.from_regex(r"\A[A-Z]{3}\Z"))
    return it


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    optional = {
        "export_licence": short_text,
        "end_user_certificate": short_text,
        "end_user_certificate_expiry": iso_dates,
        "committee_reference": short_text,
        "exemption_claimed": short_text,
    }
    chosen = draw(st.sets(st.sampled_from(sorted(optional))))
    return {k: draw(optional[k]) for k in sorted(chosen)}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    route: dict[str, Any] = {"origin": draw(countries), "destination": draw(destinations)}
    if draw(st.booleans()):
        route["transit"] = draw(st.lists(countries, max_size=3))
    if draw(st.booleans()):
        route["vessel_imo"] = draw(st.from_regex(r"\A(IMO ?)?[0-9]{7}\Z"))
    rec: dict[str, Any] = {
        "record_id": draw(st.text(string.ascii_letters + string.digits + "-_.:", min_size=1)),
        "transfer_date": draw(transfer_dates),
        "route": route,
        "parties": draw(st.lists(parties(), min_size=1, max_size=6)),
        "items": draw(st.lists(items(), min_size=1, max_size=4)),
    }
    if draw(st.booleans()):
        rec["status"] = draw(st.sampled_from(STATUSES))
    if draw(st.booleans()):
        rec["documents"] = draw(documents())
    if draw(st.booleans()):
        rec["declared_end_use"] = draw(short_text)
    return rec


# --- properties ----------------------------------------------------------------------


def _screen(rec: dict[str, Any]) -> list[Finding]:
    return screen(parse_transfer(rec), ctx())


def _violations(findings: list[Finding]) -> set[str]:
    return {f.key for f in findings if f.kind is Kind.VIOLATION}


@SETTINGS
@given(records())
def test_screen_never_raises_on_a_valid_record(rec: dict[str, Any]) -> None:
    assert validate_record(rec) == []
    for f in _screen(rec):
        assert f.record_id == rec["record_id"]


#: Roles that decide who receives the goods (see ``receiving_parties``): a party added in
#: one of them is unrelated only if the record already names an end user, whose role then
#: decides.
DECIDING_ROLES = {"end_user", "consignee", "importer"}


@st.composite
def unrelated_parties(draw: st.DrawFn, rec: dict[str, Any]) -> dict[str, Any]:
    has_end_user = any(p["role"] == "end_user" for p in rec["parties"])
    roles = ROLES if has_end_user else [r for r in ROLES if r not in DECIDING_ROLES]
    return {
        "role": draw(st.sampled_from(roles)),
        "name": draw(st.text(string.ascii_letters + " ", min_size=3, max_size=30)),
        "type": draw(st.sampled_from(PARTY_TYPES)),
        "country": draw(st.sampled_from(COUNTRIES)),
    }


@SETTINGS
@given(st.data())
def test_an_unrelated_party_never_removes_a_violation(data: st.DataObject) -> None:
    rec = data.draw(records())
    party = data.draw(unrelated_parties(rec))
    before = _violations(_screen(rec))
    more = copy.deepcopy(rec)
    more["parties"].append(party)
    if validate_record(more):
        return  # too many parties for the schema: not a record anyone can send
    after = _violations(_screen(more))
    assert before <= after, f"removed by {party}: {before - after}"


def days_outside(regime_id: str) -> list[date]:
    """The day before its first phase, the first day of every gap, the day after its last end."""
    phases = sorted(ctx().ruleset.regimes[regime_id].phases, key=lambda p: p.start)
    days = [phases[0].start - timedelta(days=1)]
    covered_to: date | None = phases[0].end  # None: in force to this day
    for phase in phases[1:]:
        if covered_to is None:
            break
        if phase.start > covered_to + timedelta(days=1):
            days.append(covered_to + timedelta(days=1))  # a gap (Iran 2020-10-18 to 2025-09-26)
        covered_to = None if phase.end is None else max(covered_to, phase.end)
    if covered_to is not None:
        days.append(covered_to + timedelta(days=1))
    return days


def test_days_outside_find_irans_gap() -> None:
    assert date(2020, 10, 18) in days_outside("IR")
    assert all(
        not p.in_force(d) for d in days_outside("IR") for p in ctx().ruleset.regimes["IR"].phases
    )


@SETTINGS
@given(records())
def test_a_date_outside_every_phase_of_a_regime_clears_its_violations(rec: dict[str, Any]) -> None:
    regimes = {f.regime for f in _screen(rec) if f.kind is Kind.VIOLATION and f.regime}
    event("with violations" if regimes else "without violations")
    for regime_id in sorted(regimes):
        for day in days_outside(regime_id):
            moved = {**rec, "transfer_date": day.isoformat()}
            left = [
                f.rule_id
                for f in _screen(moved)
                if f.kind is Kind.VIOLATION and f.regime == regime_id
            ]
            assert left == [], f"{regime_id} violations on {day}, outside its phases: {left}"
