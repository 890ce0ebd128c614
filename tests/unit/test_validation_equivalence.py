"""The compiled validator accepts exactly what jsonschema accepts, and reasons keep their words.

``validate_record`` lets the compiled validator (jsonschema-rs) decide and walks jsonschema
only over what it rejects. Three readers of the schema are compared here:

- *compiled*: the validator that decides;
- *explainer*: jsonschema as the reasons come from it, made to read patterns, numbers
  and arrays as the compiled validator does;
- *plain*: jsonschema as it was used before (``Draft202012Validator`` with a
  ``FormatChecker``), for the reasons' exact wording.

Compiled and explainer must agree on every record. Compiled and plain must agree on every
record outside the classes where plain jsonschema reads the schema with Python's regex
and numbers (:data:`DIVERGENT`); those classes have their own tests below.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator

from services.core import resources, validation
from services.core.transfer_csv import csv_records
from services.core.validation import COUNTRY_CODES, Decoded, Rejection, check, validate_record
from services.evaluation.evaluate import load_cases
from tests.records import record

ROOT = Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = orjson.loads(resources.schema_bytes("transfer.v1.json"))
PROPS = SCHEMA["properties"]
PARTY = PROPS["parties"]["items"]["properties"]
ITEM = PROPS["items"]["items"]["properties"]
PLAIN = Draft202012Validator(SCHEMA, format_checker=FormatChecker())

#: Mutations after which plain jsonschema may rightly disagree with the compiled validator.
DIVERGENT = frozenset({"pattern_edge", "non_finite"})


def _accepts(validator: Validator, obj: Any) -> bool:
    return next(iter(validator.iter_errors(obj)), None) is None


def reasons_before(obj: Any) -> list[str]:
    """``validate_record`` as it was: plain jsonschema, then the semantic checks."""
    errors = sorted(PLAIN.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        return [validation._describe(e) for e in errors[:20]]
    return validation._semantic_problems(obj)


def assert_equivalent(rec: Any) -> None:
    """Compiled, explainer and plain agree on ``rec``, and so do the reasons."""
    compiled = validation._compiled().is_valid(rec)
    assert compiled == _accepts(validation._explainer(), rec)
    assert compiled == _accepts(PLAIN, rec)
    assert validate_record(rec) == reasons_before(rec)


# --- the records we ship and evaluate with ----------------------------------------------


def read_csv(text: str) -> list[dict[str, Any]]:
    """The records CSV ``text`` decodes to (none of these files repeats a record_id)."""
    decoded = csv_records(text.encode().splitlines(keepends=True))
    return [d.obj for d in decoded if isinstance(d, Decoded)]


@cache
def sample_records() -> tuple[dict[str, Any], ...]:
    feed = (ROOT / "samples" / "demo-feed.ndjson").read_bytes().splitlines()
    csv = (ROOT / "samples" / "haiti-timeline.csv").read_text(encoding="utf-8")
    return (*[orjson.loads(line) for line in feed if line.strip()], *read_csv(csv))


@cache
def evaluation_records() -> tuple[dict[str, Any], ...]:
    return tuple(case.record for case in load_cases())


def test_the_evaluation_set_is_judged_alike() -> None:
    recs = evaluation_records()
    assert len(recs) > 200
    for rec in recs:
        assert_equivalent(rec)


def test_the_samples_are_judged_alike() -> None:
    recs = sample_records()
    assert len(recs) >= 10
    for rec in recs:
        assert_equivalent(rec)
    verdicts = {validation._compiled().is_valid(rec) for rec in recs}
    assert verdicts == {True, False}  # the demo feed holds broken records on purpose


# --- generated records ------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
iso_dates = st.dates(date(1800, 1, 1), date(2200, 12, 31)).map(date.isoformat)
countries = st.sampled_from(sorted(COUNTRY_CODES))
record_ids = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9 ._:/-]{0,40}[A-Za-z0-9])?\Z")
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def optional(
    draw: st.DrawFn, obj: dict[str, Any], fields: dict[str, st.SearchStrategy[Any]]
) -> None:
    for key in draw(st.sets(st.sampled_from(sorted(fields)))):
        obj[key] = draw(fields[key])


@st.composite
def parties(draw: st.DrawFn) -> dict[str, Any]:
    p = {"role": draw(st.sampled_from(PARTY["role"]["enum"])), "name": draw(text.filter(bool))}
    identifier = st.fixed_dictionaries(
        {"type": text.filter(bool).map(lambda s: s[:50]), "value": text.filter(bool)}
    )
    optional(
        draw,
        p,
        {
            "country": countries,
            "type": st.sampled_from(PARTY["type"]["enum"]),
            "date_of_birth": st.from_regex(r"\A[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?\Z"),
            "identifiers": st.lists(identifier, max_size=2),
        },
    )
    return p


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    it: dict[str, Any] = {
        "description": draw(text),
        "quantity": draw(
            st.integers(1, 10**12)
            | st.floats(0, 1e12, exclude_min=True, allow_nan=False, allow_infinity=False)
        ),
    }
    classification = {
        "category": st.sampled_from(ITEM["category"]["enum"]),
        "hs_code": st.from_regex(r"\A[0-9]{4,10}\Z"),
        "ml_code": st.from_regex(r"\AML([1-9]|1[0-9]|2[0-2])(\.?[a-z])?\Z"),
    }
    for key in draw(st.sets(st.sampled_from(sorted(classification)), min_size=1)):
        it[key] = draw(classification[key])
    optional(
        draw,
        it,
        {
            "calibre": text,
            "serial_numbers": st.lists(text, max_size=3),
            "value": st.integers(0, 10**9) | st.floats(0, 1e9, allow_nan=False),
            "currency": st.from_regex(r"\A[A-Z]{3}\Z"),
        },
    )
    return it


@st.composite
def valid_records(draw: st.DrawFn) -> dict[str, Any]:
    route: dict[str, Any] = {"origin": draw(countries), "destination": draw(countries)}
    optional(
        draw,
        route,
        {
            "transit": st.lists(countries, max_size=3),
            "port_of_loading": text,
            "port_of_discharge": text,
            "vessel_imo": st.from_regex(r"\A(IMO ?)?[0-9]{7}\Z"),
            "aircraft_registration": text.map(lambda s: s[:20]),
        },
    )
    rec: dict[str, Any] = {
        "record_id": draw(record_ids),
        "transfer_date": draw(iso_dates),
        "route": route,
        "parties": draw(st.lists(parties(), min_size=1, max_size=4)),
        "items": draw(st.lists(items(), min_size=1, max_size=3)),
    }
    documents = {
        "export_licence": text,
        "end_user_certificate": text,
        "end_user_certificate_expiry": iso_dates,
        "committee_reference": text,
        "exemption_claimed": text,
    }
    optional(
        draw,
        rec,
        {
            "status": st.sampled_from(PROPS["status"]["enum"]),
            "documents": st.fixed_dictionaries({}, optional=documents),
            "declared_end_use": text,
        },
    )
    return rec


@st.composite
def shipped_records(draw: st.DrawFn) -> dict[str, Any]:
    """A record of the evaluation set or the samples."""
    return copy.deepcopy(draw(st.sampled_from(evaluation_records() + sample_records())))


# --- mutations: each changes one place of a record and names what it did ----------------

Place = tuple[Any, Any]  # a container and a key (or index) in it


def places(value: Any) -> Iterator[Place]:
    """Every (container, key) of ``value``, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from places(item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield value, i
            yield from places(item)


def strings(rec: dict[str, Any]) -> list[Place]:
    return [(c, k) for c, k in places(rec) if isinstance(c[k], str)]


def keyed(rec: dict[str, Any], *names: str) -> list[Place]:
    return [(c, k) for c, k in places(rec) if k in names]


REQUIRED = ("record_id", "transfer_date", "route", "parties", "items", "origin", "destination")
REQUIRED += ("role", "name", "description", "quantity", "type", "value")
PATTERNED = ("record_id", "transfer_date", "origin", "destination", "vessel_imo")
PATTERNED += ("date_of_birth", "hs_code", "ml_code", "currency", "country")
ENUMS = ("status", "role", "type", "category")
BAD_DATES = ["2023-02-30", "2023-02-29", "1900-02-29", "0000-01-01", "2024-13-01", "2024-00-10"]
BAD_DATES += ["2024-01-00", "2024-1-01", "24-01-01", "2024/01/01", "2024-01-01T00:00:00Z", ""]
BAD_COUNTRIES = ["us", "USA", "U", "ZZ", "", "H T", "ＵＳ", "1", 840, None]
WRONG_TYPES = [0, 1, -1, 1.5, True, False, None, [], {}, "x", ["x"], {"x": 1}]
MAX_LENGTHS = [20, 50, 100, 200, 500, 2000]
#: What Python's ``re`` and ECMA-262 read differently: ``$`` before a final newline, digits
#: of other scripts, and whitespace (``\\S``) or line ends (``.``) beyond ASCII.
EDGES = ["\n", "\r", "\x1c", "\x85", "\xa0", "\u2028", "\ufeff", "\u3000", "٣", "߁", "１"]


def mutation(draw: st.DrawFn, rec: dict[str, Any]) -> str:
    """Apply one mutation to ``rec`` in place; return its name."""
    kind = draw(st.sampled_from(sorted(MUTATIONS)))
    MUTATIONS[kind](draw, rec)
    return kind


def pick(draw: st.DrawFn, found: list[Place]) -> Place | None:
    return draw(st.sampled_from(found)) if found else None


def drop_required(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, [(c, k) for c, k in keyed(rec, *REQUIRED) if isinstance(c, dict)]):
        del place[0][place[1]]


def wrong_type(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, list(places(rec))):
        place[0][place[1]] = copy.deepcopy(draw(st.sampled_from(WRONG_TYPES)))


def bad_date(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    docs = rec.setdefault("documents", {}) if draw(st.booleans()) else rec
    if not isinstance(docs, dict):
        docs = rec
    key = "end_user_certificate_expiry" if docs is not rec else "transfer_date"
    docs[key] = draw(st.sampled_from(BAD_DATES))


def extra_property(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    objects = [rec] + [c[k] for c, k in places(rec) if isinstance(c[k], dict)]
    draw(st.sampled_from(objects))[draw(text)] = draw(json_values)


def empty_string(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, strings(rec)):
        place[0][place[1]] = ""


def too_long(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, strings(rec)):
        place[0][place[1]] = "x" * (draw(st.sampled_from(MAX_LENGTHS)) + draw(st.integers(0, 1)))


def bad_enum(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, [(c, k) for c, k in keyed(rec, *ENUMS) if isinstance(c[k], str)]):
        value = place[0][place[1]]
        place[0][place[1]] = draw(st.sampled_from([value.upper(), f"{value} ", "pistols", ""]))


def bad_country(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, keyed(rec, "origin", "destination", "country")):
        place[0][place[1]] = draw(st.sampled_from(BAD_COUNTRIES))


def bad_count(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    key, size = draw(st.sampled_from([("parties", 0), ("items", 0), ("parties", 51)]))
    first = rec[key][0] if isinstance(rec.get(key), list) and rec[key] else {}
    rec[key] = [copy.deepcopy(first) for _ in range(size)]


def unclassified_item(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if isinstance(rec.get("items"), list) and rec["items"] and isinstance(rec["items"][0], dict):
        for key in ("category", "hs_code", "ml_code"):
            rec["items"][0].pop(key, None)


def bad_number(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, keyed(rec, "quantity", "value")):
        place[0][place[1]] = draw(st.sampled_from([0, -1, -0.0, 0.0, 1e-300, 10**30, -0.01]))


def pattern_edge(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, [(c, k) for c, k in keyed(rec, *PATTERNED) if isinstance(c[k], str)]):
        value, edge = place[0][place[1]], draw(st.sampled_from(EDGES))
        at = draw(st.integers(0, len(value)))
        place[0][place[1]] = draw(
            st.sampled_from([value + edge, edge + value, value[:at] + edge + value[at:]])
        )


def non_finite(draw: st.DrawFn, rec: dict[str, Any]) -> None:
    if place := pick(draw, keyed(rec, "quantity", "value")):
        place[0][place[1]] = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))


MUTATIONS: dict[str, Callable[[st.DrawFn, dict[str, Any]], None]] = {
    f.__name__: f
    for f in (
        drop_required,
        wrong_type,
        bad_date,
        extra_property,
        empty_string,
        too_long,
        bad_enum,
        bad_country,
        bad_count,
        unclassified_item,
        bad_number,
        pattern_edge,
        non_finite,
    )
}


@st.composite
def mutated_records(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    rec = draw(valid_records() | shipped_records())
    kinds = frozenset(mutation(draw, rec) for _ in range(draw(st.integers(1, 3))))
    return rec, kinds


SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(valid_records())
def test_generated_valid_records_are_accepted_by_all(rec: dict[str, Any]) -> None:
    assert_equivalent(rec)
    assert validation._compiled().is_valid(rec)


@SETTINGS
@given(mutated_records())
def test_generated_invalid_records_are_judged_alike(
    case: tuple[dict[str, Any], frozenset[str]],
) -> None:
    rec, kinds = case
    compiled = validation._compiled().is_valid(rec)
    assert compiled == _accepts(validation._explainer(), rec)
    if not kinds & DIVERGENT:
        assert compiled == _accepts(PLAIN, rec)
        assert validate_record(rec) == reasons_before(rec)
    elif not compiled:
        assert validate_record(rec)  # never accepted without the compiled validator's say


def test_each_mutation_is_drawn_and_most_records_are_invalid() -> None:
    seen: set[str] = set()
    verdicts: list[bool] = []

    # Derandomised: a draw that overruns the buffer is discarded, so a random run can miss a kind.
    @settings(SETTINGS, max_examples=300, database=None, derandomize=True)
    @given(mutated_records())
    def collect(case: tuple[dict[str, Any], frozenset[str]]) -> None:
        seen.update(case[1])
        verdicts.append(validation._compiled().is_valid(case[0]))

    collect()
    assert seen == set(MUTATIONS)
    assert verdicts.count(False) > len(verdicts) / 2


# --- where plain jsonschema reads the schema differently, handled explicitly ------------


def _set(path: str, value: Any) -> dict[str, Any]:
    rec = record()
    *parents, last = path.split(".")
    target: Any = rec
    for step in parents:
        target = target[int(step)] if step.isdigit() else target.setdefault(step, {})
    target[last] = value
    return rec


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        # Python's "$" matches before a final newline; ECMA-262's does not.
        ("items.0.currency", "USD\n", r"items[0].currency: 'USD\n' does not match '^[A-Z]{3}$'"),
        ("route.vessel_imo", "IMO 9123456\n", r"route.vessel_imo: 'IMO 9123456\n' does not match"),
        ("record_id", "r-1\n", r"record_id: 'r-1\n' does not match '^\\S(.*\\S)?$'"),
        # Python's \d takes any script's digits: "unknown HS code" downstream.
        ("items.0.hs_code", "٩٣٠٢", r"items[0].hs_code: '٩٣٠٢' does not match '^\\d{4,10}$'"),
        ("parties.0.date_of_birth", "１９７０", r"parties[0].date_of_birth: '１９７０' does not"),
        # Python's "." crosses a carriage return; a BOM is not Python whitespace.
        ("record_id", "r\r1", r"record_id: 'r\r1' does not match '^\\S(.*\\S)?$'"),
        ("record_id", "\ufeffr-1", r"record_id: '\ufeffr-1' does not match '^\\S(.*\\S)?$'"),
    ],
)
def test_what_python_regex_let_through_is_rejected_with_the_usual_words(
    path: str, value: str, reason: str
) -> None:
    rec = _set(path, value)
    assert _accepts(PLAIN, rec)  # how it was
    assert not validation._compiled().is_valid(rec)
    (got,) = validate_record(rec)
    assert got.startswith(reason), got


@pytest.mark.parametrize("value", ["\x1cr-1", "r-1\x1f", "r-1\x85"])
def test_ecma_whitespace_decides_record_ids(value: str) -> None:
    # Python calls the ASCII separators and NEL whitespace; ECMA-262's \S matches them.
    rec = record(value)
    assert not _accepts(PLAIN, rec)
    assert validate_record(rec) == []


@pytest.mark.parametrize(
    ("value", "shown", "passed_before"),
    [("nan", "nan", True), ("inf", "inf", True), ("-inf", "-inf", False)],
)
def test_a_non_finite_quantity_from_csv_is_rejected(
    value: str, shown: str, passed_before: bool
) -> None:
    csv = (
        "record_id,transfer_date,origin,destination,exporter_name,category,quantity\n"
        f"r-1,2024-11-20,US,HT,Gulf Coast Sporting Arms LLC,unroca.II,{value}\n"
    )
    (rec,) = read_csv(csv)
    assert _accepts(PLAIN, rec) is passed_before  # nan <= 0 is false: not below the minimum
    outcome = check(0, rec, "")
    assert isinstance(outcome, Rejection)
    assert outcome.reasons == (f"items[0].quantity: {shown} is not of type 'number'",)


@pytest.mark.parametrize("value", ["2023-02-30", "1900-02-29", "0000-01-01", "2023-04-31"])
def test_impossible_dates_are_rejected_by_the_compiled_validator(value: str) -> None:
    rec = record(transfer_date=value)
    assert not validation._compiled().is_valid(rec)
    assert validate_record(rec) == [f"transfer_date: {value!r} is not a 'date'"]


def test_year_zero_is_refused_though_rfc_3339_allows_it() -> None:
    # Python's date cannot hold year 0, so parse_transfer would fail on it.
    bare = jsonschema_rs.Draft202012Validator(SCHEMA, validate_formats=True)
    rec = _set("documents.end_user_certificate_expiry", "0000-01-01")
    assert bare.is_valid(rec)
    assert validate_record(rec) == [
        "documents.end_user_certificate_expiry: '0000-01-01' is not a 'date'"
    ]


def test_a_tuple_is_an_array_and_its_nul_characters_are_found() -> None:
    rec = record()
    rec["parties"] = tuple(rec["parties"])
    assert validate_record(rec) == []
    rec["parties"][1]["name"] = "Caribbean\x00Import"
    assert validate_record(rec) == [
        "parties[1].name: contains a NUL character (\\u0000), which no text field can store"
    ]


# --- the fast path and its fallbacks ------------------------------------------------------


class _Silent:
    def iter_errors(self, obj: Any) -> Iterator[Any]:
        return iter(())


class _Forbidden:
    def iter_errors(self, obj: Any) -> Iterator[Any]:
        raise AssertionError("jsonschema walked a record the compiled validator accepted")


def test_an_accepted_record_is_never_walked_by_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "_explainer", lambda fields=None: _Forbidden())
    assert validate_record(record()) == []
    rec = record()
    rec["route"]["transit"] = ["ZZ"]  # the semantic checks still run
    assert validate_record(rec) == [
        "route.transit[0]: 'ZZ' is not an ISO 3166-1 alpha-2 country code"
    ]


def test_if_jsonschema_finds_nothing_the_compiled_reasons_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validation, "_explainer", lambda fields=None: _Silent())
    rec = record()
    rec["items"][0]["currency"] = "usd"
    (reason,) = validate_record(rec)
    assert reason.startswith("items[0].currency: ")
    assert "usd" in reason


def test_jsonschema_walks_only_the_fields_the_compiled_validator_faults() -> None:
    rec = record()
    del rec["transfer_date"]
    rec["items"][0]["category"] = "pistols"
    rec["parties"][0]["role"] = "seller"
    assert validation._failing_fields(rec) == {"items", "parties"}
    assert validate_record(rec) == reasons_before(rec)
    assert len(validate_record(rec)) == 3


class Text(str):
    """A str subclass, which the compiled validator cannot read."""


def test_values_the_compiled_validator_cannot_read_are_judged_by_jsonschema() -> None:
    assert validation._compiled_verdict(record(Text("r-1"))) is None
    assert validate_record(record(Text("r-1"))) == []
    assert validate_record(record(Text(""))) == [
        "record_id: '' should be non-empty",
        "record_id: '' does not match '^\\\\S(.*\\\\S)?$'",
    ]
    assert validate_record(record("r-\ud800")) == []  # a lone surrogate, as before


def test_the_compiled_validator_checks_formats_and_the_2020_12_draft() -> None:
    compiled = validation._compiled()
    assert isinstance(compiled, jsonschema_rs.Draft202012Validator)
    assert not compiled.is_valid(record(transfer_date="2023-02-30"))
    assert compiled.is_valid(record(transfer_date="2024-02-29"))
