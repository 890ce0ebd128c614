"""Turning bytes an integrator sent into validated records, or readable reasons.

Every input record ends in exactly one of two states: a schema-valid
:class:`~services.core.transfers.Transfer`, or a :class:`Rejection` whose
``reasons`` a person can act on. Nothing is dropped on the way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator, FormatChecker, TypeChecker, ValidationError, validators
from jsonschema.protocols import Validator

from services.core import resources
from services.core.transfers import Transfer, parse_transfer

# ISO 3166-1 alpha-2 assigned codes, plus XK (Kosovo), used by the UN list and customs.
COUNTRY_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI
    BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN
    CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW XK
    """.split()  # noqa: SIM905 - a word list reads better than 250 quoted strings
)


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position in the request (0-based); for NDJSON, the line number - 1
    record_id: str | None
    reasons: tuple[str, ...]
    raw: str  # what the integrator sent for this record, kept for audit


@dataclass(frozen=True, slots=True)
class Accepted:
    index: int
    record: dict[str, Any]
    transfer: Transfer


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads(resources.schema_bytes("transfer.v1.json"))
    return schema


#: RFC 3339, which the compiled ``date`` follows, has a year 0000; jsonschema's ``date``
#: (Python's) and the record parser do not.
_NOT_YEAR_ZERO = {"not": {"pattern": "^0000"}}


def _without_year_zero(schema: Any) -> Any:
    """``schema`` with every ``"format": "date"`` also refusing year 0000."""
    if isinstance(schema, list):
        return [_without_year_zero(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _without_year_zero(v) for k, v in schema.items()}
    if out.get("format") == "date":
        out["allOf"] = [*out.get("allOf", ()), _NOT_YEAR_ZERO]
    return out


@cache
def _compiled() -> jsonschema_rs.Validator:
    """The validator that decides: the contract compiled, formats checked.

    Year 0000 is refused by rewriting the schema, not by a Python ``date`` callback,
    which would double the cost of a record.
    """
    return jsonschema_rs.Draft202012Validator(_without_year_zero(_schema()), validate_formats=True)


@cache
def _compiled_pattern(pattern: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({"pattern": pattern})


def _matches(pattern: str, text: str) -> bool:
    """Search ``text`` with JSON Schema's (ECMA-262) regex, as the compiled validator does.

    Python's ``re`` differs: ``$`` matches before a final newline, ``\\d`` takes any
    script's digits, ``\\s`` and ``.`` other characters.
    """
    try:
        return _compiled_pattern(pattern).is_valid(text)
    except ValueError:  # a lone surrogate from a Python caller, which Rust cannot hold
        return re.search(pattern, text) is not None


def _pattern(
    validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's ``pattern`` keyword and wording, with the compiled validator's regex."""
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _is_json_number(checker: TypeChecker, instance: Any) -> bool:
    # JSON has no NaN or infinity (a CSV "nan" parses to one); the compiled validator agrees.
    if isinstance(instance, float) and not math.isfinite(instance):
        return False
    return bool(Draft202012Validator.TYPE_CHECKER.is_type(instance, "number"))


def _is_json_array(checker: TypeChecker, instance: Any) -> bool:
    return isinstance(instance, list | tuple)  # a tuple is an array to orjson and to Rust


#: jsonschema, made to agree with the compiled validator where the two differ.
_Explainer = validators.extend(  # type: ignore[no-untyped-call]  # untyped in the stubs
    Draft202012Validator,
    validators={"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"number": _is_json_number, "array": _is_json_array}
    ),
)


@cache
def _explainer(fields: frozenset[str] | None = None) -> Validator:
    """The validator that explains what :func:`_compiled` rejects, in jsonschema's words.

    With ``fields``, it walks only those top-level properties (and the record's own
    keywords): where the compiled validator found nothing wrong, neither would it.
    """
    schema = _schema()
    if fields is not None:
        kept = {k: v for k, v in schema["properties"].items() if k in fields}
        schema = {**schema, "properties": kept}
    explainer: Validator = _Explainer(schema, format_checker=FormatChecker())
    return explainer


def _failing_fields(obj: Any) -> frozenset[str]:
    """The top-level properties in which the compiled validator finds errors."""
    return frozenset(
        str(err.instance_path[0]) for err in _compiled().iter_errors(obj) if err.instance_path
    )


def _describe(err: ValidationError) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
    where = where.lstrip(".") or "record"
    if err.validator == "enum":
        options = [str(v) for v in err.validator_value]  # type: ignore[union-attr]
        allowed = ", ".join(options[:6]) + (
            ", … (see schemas/transfer.v1.json)" if len(options) > 6 else ""
        )
        return f"{where}: {err.instance!r} is not one of: {allowed}"
    if err.validator == "anyOf" and where.startswith("items"):
        return f"{where}: an item needs a category, an hs_code or an ml_code"
    return f"{where}: {err.message}"


def _codes_assigned(record: dict[str, Any]) -> bool:
    """Whether every country code is assigned: the common case, with no place names built."""
    route = record["route"]
    return (
        route["origin"] in COUNTRY_CODES
        and route["destination"] in COUNTRY_CODES
        and all(c in COUNTRY_CODES for c in route.get("transit") or ())
        and all(p["country"] in COUNTRY_CODES for p in record["parties"] if "country" in p)
    )


def _semantic_problems(record: dict[str, Any]) -> list[str]:
    """Checks JSON Schema cannot express compactly."""
    if _codes_assigned(record):
        return _nul_problems(record)
    route = record["route"]
    codes = [("route.origin", route["origin"]), ("route.destination", route["destination"])]
    codes += [(f"route.transit[{i}]", c) for i, c in enumerate(route.get("transit") or ())]
    codes += [
        (f"parties[{i}].country", p["country"])
        for i, p in enumerate(record["parties"])
        if "country" in p
    ]
    problems = [
        f"{where}: {code!r} is not an ISO 3166-1 alpha-2 country code"
        for where, code in codes
        if code not in COUNTRY_CODES
    ]
    return problems + _nul_problems(record)


def _nul_problems(record: dict[str, Any]) -> list[str]:
    if not _may_hold_nul(record):
        return []
    return [
        f"{where}: contains a NUL character (\\u0000), which no text field can store"
        for where in _nul_paths(record, "")
    ]


#: How JSON writes a NUL character (orjson escapes it in keys and values alike).
_NUL_ESCAPED = b"\\u0000"


def _may_hold_nul(record: dict[str, Any]) -> bool:
    """A cheap test before :func:`_nul_paths` walks the record: one compiled encoding."""
    try:
        return _NUL_ESCAPED in orjson.dumps(record)
    except TypeError:  # not encodable (a lone surrogate from a Python caller): walk it
        return True


def _nul_paths(value: Any, where: str) -> Iterator[str]:
    """Where ``value`` holds a string with a NUL character (PostgreSQL text cannot)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield where or "record"
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in key:
                yield path.replace("\x00", "\\u0000")  # a key: JSONB cannot hold it either
            yield from _nul_paths(item, path)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _nul_paths(item, f"{where}[{i}]")


def _compiled_verdict(obj: Any) -> bool | None:
    """Whether the compiled validator accepts ``obj``; None if it cannot read it as JSON."""
    try:
        return _compiled().is_valid(obj)
    except ValueError:  # a non-str key, a str subclass, a lone surrogate: Python callers only
        return None


def _compiled_reasons(obj: Any) -> list[str]:
    reasons = []
    for err in _compiled().iter_errors(obj):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path)
        reasons.append(f"{where.lstrip('.') or 'record'}: {err.message}")
    return reasons[:20]


def validate_record(obj: Any) -> list[str]:
    """Return readable reasons ``obj`` is not a valid v1 record; empty if it is.

    The compiled validator decides; jsonschema walks only what it rejects, for
    the reasons. Both read the schema the same way (tests hold them to it).
    """
    verdict = _compiled_verdict(obj)
    if verdict is not True:
        # Only the failing fields: a rejection then costs about a fifth of a whole walk.
        explainer = _explainer(_failing_fields(obj) if verdict is False else None)
        errors = sorted(explainer.iter_errors(obj), key=lambda e: list(e.absolute_path))
        if errors:
            return [_describe(e) for e in errors[:20]]
        if verdict is False:  # they disagree: the contract's compiled form still has the say
            return _compiled_reasons(obj)
    return _semantic_problems(obj)


def _record_id_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("record_id"), str):
        return str(obj["record_id"])
    return None


def rejection(index: int, obj: Any, raw: str) -> Rejection | None:
    """Why ``obj`` is refused, as a :class:`Rejection`; None when it is a valid record."""
    reasons = validate_record(obj)
    return Rejection(index, _record_id_of(obj), tuple(reasons), raw) if reasons else None


def check(index: int, obj: Any, raw: str) -> Accepted | Rejection:
    return rejection(index, obj, raw) or Accepted(index, obj, parse_transfer(obj))


class BodyError(ValueError):
    """The request body as a whole cannot be read (not per-record)."""


def _looks_like_ndjson(text: bytes) -> bool:
    first, sep, _ = text.partition(b"\n")
    if not sep:
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _split_ndjson(body: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(body.split(b"\n")):
        if line.strip():
            yield number, line.rstrip(b"\r")


def decode_batch(body: bytes, content_type: str = "") -> Iterator[Accepted | Rejection]:
    """Decode one JSON object, a JSON array, or NDJSON; check each record.

    Raises :class:`BodyError` when the body as a whole is unreadable (empty,
    not UTF-8, malformed JSON that is not NDJSON); per-record problems come
    back as :class:`Rejection` items instead, in input order.
    """
    text = body.strip()
    if not text:
        raise BodyError("the request body is empty; send one JSON record, an array or NDJSON")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8 (byte {exc.start})") from exc
    is_ndjson = "ndjson" in content_type or "jsonlines" in content_type
    if not is_ndjson:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if not _looks_like_ndjson(text):
                raise BodyError(f"malformed JSON: {exc}") from exc
            is_ndjson = True  # several objects, one per line, sent as application/json
        else:
            yield from _from_document(doc)
            return
    for number, line in _split_ndjson(body):
        raw = line.decode("utf-8")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Rejection(number, None, (f"line {number + 1}: malformed JSON: {exc}",), raw)
            continue
        yield check(number, obj, raw)


def _from_document(doc: Any) -> Iterator[Accepted | Rejection]:
    if isinstance(doc, dict):
        yield check(0, doc, orjson.dumps(doc).decode())
    elif isinstance(doc, list):
        for i, obj in enumerate(doc):
            yield check(i, obj, orjson.dumps(obj).decode())
    else:
        raise BodyError("expected a JSON object, an array of objects, or NDJSON")


# Streams: a file read one record at a time, so memory does not grow with its length.


@dataclass(frozen=True, slots=True)
class Decoded:
    """A record read from a stream and not yet checked: what :func:`check` takes."""

    index: int
    obj: Any
    raw: str


def ndjson_records(lines: Iterable[bytes]) -> Iterator[Decoded | Rejection]:
    """Records from NDJSON ``lines`` (as a binary file iterates), one line pulled per record.

    Numbering and reasons are those of :func:`decode_batch`: ``index`` is the line number
    - 1, blank lines count but yield nothing, a malformed line is a :class:`Rejection`.
    Raises :class:`BodyError` on a line that is not UTF-8 (the file's encoding is wrong,
    as for a whole body) and, at the end, when no line held anything.
    """
    empty = True
    for number, line in enumerate(lines):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        empty = False
        try:
            raw = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(f"line {number + 1} is not UTF-8 (byte {exc.start})") from exc
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Rejection(number, None, (f"line {number + 1}: malformed JSON: {exc}",), raw)
            continue
        yield Decoded(number, obj, raw)
    if empty:
        raise BodyError("the input is empty: no line holds a record")
