"""Read the UN Security Council Consolidated List XML, and tell two versions apart.

A well-formed file is parsed in one strict pass. Copies that circulate are not
always well formed, so a file that fails the strict pass is read record by
record: one broken record must not take the others down, and every change made
to the text is reported as a :class:`Repair` naming the record and the field.
What cannot be read is reported as :class:`Unreadable`, never dropped silently.

The repairs follow the damage seen in real copies: text whose characters were
cut to their low byte. That turns Latin-1 letters into bytes that are invalid
UTF-8 (read back as Latin-1, which restores "é" exactly), typographic
punctuation into C0 control characters (U+2019 became 0x19, restored as
such), and non-Latin scripts into ASCII debris, which can contain a bare ``&``
or ``<`` (escaped) but cannot be restored at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import date
from xml.sax.saxutils import unescape

from services.core.sanctions_list import (
    Address,
    Alias,
    AliasQuality,
    BirthDate,
    IdDocument,
    ListedParty,
    PartyKind,
    SanctionsList,
)


class NotAUnListError(ValueError):
    """The input is not a whole UN Consolidated List; nothing was loaded from it."""


@dataclass(frozen=True, slots=True)
class Repair:
    reference_number: str | None
    data_id: str | None
    field: str  # element path inside the record, e.g. "INDIVIDUAL_ALIAS[2]/ALIAS_NAME"
    action: str


@dataclass(frozen=True, slots=True)
class Unreadable:
    position: int  # byte offset of the record's start tag in the file, -1 if unknown
    reference_number: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    individuals: int
    entities: int
    repairs: tuple[Repair, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    notes: tuple[str, ...] = ()  # findings about the file as a whole
    damaged: bool = False  # not well-formed XML: read record by record

    def repairs_by_field(self) -> Counter[str]:
        """Repair counts per field, sibling indices dropped ("INDIVIDUAL_ALIAS/ALIAS_NAME")."""
        return Counter(re.sub(r"\[\d+\]", "", r.field) for r in self.repairs)

    def summary(self) -> str:
        text = (
            f"Read {self.individuals + self.entities} records ({self.individuals} individuals,"
            f" {self.entities} entities){' from a damaged file' if self.damaged else ''}."
        )
        if self.repairs:
            records = len({(r.reference_number, r.data_id) for r in self.repairs})
            by_field = ", ".join(f"{f} {n}" for f, n in self.repairs_by_field().most_common())
            text += f" Repaired {len(self.repairs)} fields in {records} records ({by_field})."
        else:
            text += " No record needed repair."
        if self.unreadable:
            refs = ", ".join(u.reference_number or f"at byte {u.position}" for u in self.unreadable)
            text += f" {len(self.unreadable)} records could not be read ({refs})."
        return " ".join([text, *self.notes])


@dataclass(frozen=True, slots=True)
class Amendment:
    reference_number: str
    fields: tuple[str, ...]  # ListedParty fields that differ, in declaration order


@dataclass(frozen=True, slots=True)
class ListDiff:
    added: tuple[str, ...]
    amended: tuple[Amendment, ...]
    removed: tuple[str, ...]

    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.amended)} amended, {len(self.removed)} removed"


# Word lists read better than dozens of quoted names, hence the SIM905 waivers.
_RECORD_FIELDS = frozenset(
    """DATAID VERSIONNUM FIRST_NAME SECOND_NAME THIRD_NAME FOURTH_NAME UN_LIST_TYPE
    REFERENCE_NUMBER LISTED_ON NAME_ORIGINAL_SCRIPT GENDER COMMENTS1 TITLE DESIGNATION
    NATIONALITY LIST_TYPE LAST_DAY_UPDATED INDIVIDUAL_ALIAS INDIVIDUAL_ADDRESS
    INDIVIDUAL_DATE_OF_BIRTH INDIVIDUAL_PLACE_OF_BIRTH INDIVIDUAL_DOCUMENT ENTITY_ALIAS
    ENTITY_ADDRESS SORT_KEY SORT_KEY_LAST_MOD""".split()  # noqa: SIM905
)
_REPEATED = frozenset(
    """INDIVIDUAL_ALIAS INDIVIDUAL_ADDRESS INDIVIDUAL_DATE_OF_BIRTH INDIVIDUAL_PLACE_OF_BIRTH
    INDIVIDUAL_DOCUMENT ENTITY_ALIAS ENTITY_ADDRESS VALUE""".split()  # noqa: SIM905
)
# Only these names count as markup when repairing: damaged text can contain
# things that look like tags ("<CEB0@)" was Cyrillic once).
_ELEMENTS = _RECORD_FIELDS | frozenset(
    """CONSOLIDATED_LIST INDIVIDUALS ENTITIES INDIVIDUAL ENTITY QUALITY ALIAS_NAME NOTE VALUE
    DATE_OF_BIRTH CITY_OF_BIRTH COUNTRY_OF_BIRTH STREET CITY STATE_PROVINCE ZIP_CODE COUNTRY
    TYPE_OF_DATE DATE YEAR FROM_YEAR TO_YEAR TYPE_OF_DOCUMENT TYPE_OF_DOCUMENT2 NUMBER
    ISSUING_COUNTRY COUNTRY_OF_ISSUE DATE_OF_ISSUE CITY_OF_ISSUE""".split()  # noqa: SIM905
)
_NAME_TAGS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
# What a record with broken markup can still give: its simple, top-level fields.
_SCANNED = _NAME_TAGS + tuple(
    """REFERENCE_NUMBER DATAID VERSIONNUM UN_LIST_TYPE LISTED_ON NAME_ORIGINAL_SCRIPT GENDER
    COMMENTS1""".split()  # noqa: SIM905
)
_NOT_LOADED = frozenset({"LIST_TYPE", "SORT_KEY", "SORT_KEY_LAST_MOD"})

_HEAD_LIMIT = 65536
_HEAD = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)*"
    rb"<([A-Za-z_][\w.:-]*)([^>]*)>",
    re.S,
)
_DATE_GENERATED = re.compile(rb"""dateGenerated\s*=\s*(["'])(.*?)\1""")
_LIST_END = re.compile(rb"</CONSOLIDATED_LIST\s*>")
_RECORD_MARK = re.compile(
    rb"<(INDIVIDUAL|ENTITY)\s*>|</(?:INDIVIDUALS|ENTITIES|CONSOLIDATED_LIST)\s*>"
)
_MARKUP = re.compile(r"<(/?)([A-Z][A-Z0-9_]*)\s*(/?)>")
_NEEDS_CLEANING = re.compile(r"[\udc80-\udcff\x00-\x08\x0b\x0c\x0e-\x1f<&]")
_INVALID_BYTE = re.compile(r"[\udc80-\udcff]")
# Illegal in XML. 0x10-0x1E are what U+2010-U+201E (dashes, quotes) leave when
# cut to their low byte, so those are put back; the rest are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BARE_AMP = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")
_DATE = re.compile(r"\s*([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T[0-9:.]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})?\s*")
_QUALITIES = {
    PartyKind.INDIVIDUAL: {"good": AliasQuality.GOOD, "low": AliasQuality.LOW},
    PartyKind.ENTITY: {"aka": AliasQuality.AKA, "fka": AliasQuality.FKA},
}

_Notes = list[tuple[str, str]]  # (field, action) noted while reading one record
_Raw = tuple[int, ET.Element, _Notes]  # record offset, its element, repairs so far


class _RecordError(Exception):
    def __init__(self, reason: str, reference: str | None) -> None:
        super().__init__(reason)
        self.reason, self.reference = reason, reference


def parse_list(data: bytes) -> tuple[SanctionsList, ImportReport]:
    """Parse a UN Consolidated List file.

    Records keep their order in the file. Raises :class:`NotAUnListError`, and
    returns nothing, when the bytes are empty, not XML, another kind of XML,
    truncated, or hold no readable record. Otherwise every record that still
    has a reference number and a name is returned; the report says what was
    repaired and what could not be read.
    """
    date_generated = _check_head(data)
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPEs are refused in _check_head
    except (ET.ParseError, LookupError):  # LookupError: an encoding Python does not know
        raws, damaged = list(_recover_records(data)), True
    else:
        elements = [e for group in root for e in group if e.tag in ("INDIVIDUAL", "ENTITY")]
        offsets = [m.start() for m in _RECORD_MARK.finditer(data) if m.group(1)]
        offsets += [-1] * (len(elements) - len(offsets))
        raws, damaged = [(o, e, []) for o, e in zip(offsets, elements, strict=False)], False
    return _assemble(raws, date_generated, hashlib.sha256(data).hexdigest(), damaged)


def diff_lists(
    old: SanctionsList | None, new: SanctionsList, unread: frozenset[str] = frozenset()
) -> ListDiff:
    """What changed from ``old`` to ``new``, by reference number (all sorted).

    ``unread`` names fields the new file could not be read for (see
    :func:`lost_fields`): their absence is damage, not an amendment.
    """
    before = old.by_reference if old else {}
    after = new.by_reference
    amended = (
        Amendment(ref, changed)
        for ref in sorted(before.keys() & after.keys())
        if (changed := _changed_fields(before[ref], after[ref], unread))
    )
    return ListDiff(
        added=tuple(sorted(after.keys() - before.keys())),
        amended=tuple(amended),
        removed=tuple(sorted(before.keys() - after.keys())),
    )


def _changed_fields(
    old: ListedParty, new: ListedParty, unread: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in fields(ListedParty)
        if f.name not in unread and getattr(old, f.name) != getattr(new, f.name)
    )


def lost_fields(report: ImportReport) -> frozenset[str]:
    """Fields the importer dropped file-wide because the file lost them."""
    dropped = any(
        r.field == "NAME_ORIGINAL_SCRIPT" and r.action.startswith("dropped") for r in report.repairs
    )
    return frozenset({"original_script"}) if dropped else frozenset()


def _check_head(data: bytes) -> str:
    """Refuse what is not a whole UN list; return its dateGenerated."""
    if not data.strip():
        raise NotAUnListError("the file is empty")
    head = _HEAD.match(data[:_HEAD_LIMIT])
    if head is None:
        raise NotAUnListError(f"the file is not UTF-8 XML (it starts with {data[:32]!r})")
    root = head.group(1).decode("ascii", "replace")
    if root != "CONSOLIDATED_LIST":
        raise NotAUnListError(
            f"the root element is <{root}>, not <CONSOLIDATED_LIST>: not a UN Consolidated List"
        )
    # The UN list has no DTD; refusing one rules out entity-expansion attacks.
    if b"<!DOCTYPE" in data[: head.start(1)]:
        raise NotAUnListError("the file declares a DOCTYPE, which a UN Consolidated List never has")
    if head.group(2).rstrip().endswith(b"/"):
        raise NotAUnListError("the list holds no records")
    if not _LIST_END.search(data[-4096:]):
        raise NotAUnListError(
            f"the file is truncated: no </CONSOLIDATED_LIST> at its end ({len(data)} bytes);"
            " loading it would drop every listing after the cut"
        )
    found = _DATE_GENERATED.search(head.group(2))
    return found.group(2).decode("utf-8", "replace") if found else ""


def _assemble(
    raws: Iterable[_Raw], date_generated: str, sha256: str, damaged: bool
) -> tuple[SanctionsList, ImportReport]:
    parties: list[ListedParty] = []
    repairs: list[Repair] = []
    unreadable: list[Unreadable] = []
    for offset, element, notes in raws:
        try:
            party = _read_party(element, notes)
        except _RecordError as exc:
            reason = "; ".join([exc.reason, *(f"{f}: {a}" for f, a in notes)])
            unreadable.append(Unreadable(offset, exc.reference, reason))
            continue
        parties.append(party)
        repairs += (Repair(party.reference_number, party.data_id, f, a) for f, a in notes)
    if not parties:
        raise NotAUnListError(f"the list holds no readable records ({len(unreadable)} unreadable)")
    parties, dropped, file_notes = _drop_lost_scripts(parties)
    if not date_generated:
        repairs.append(Repair(None, None, "dateGenerated", "missing; the list version has no date"))
    report = ImportReport(
        individuals=sum(p.kind is PartyKind.INDIVIDUAL for p in parties),
        entities=sum(p.kind is PartyKind.ENTITY for p in parties),
        repairs=(*repairs, *dropped),
        unreadable=tuple(unreadable),
        notes=file_notes,
        damaged=damaged,
    )
    return SanctionsList(date_generated, sha256, tuple(parties)), report


def _drop_lost_scripts(
    parties: list[ListedParty],
) -> tuple[list[ListedParty], list[Repair], tuple[str, ...]]:
    """Drop original-script names from a file that lost the high byte of every character.

    Such text looks harmless ("3D7'F" was سلطان) and cannot be told from a real
    name one field at a time; across the file it shows, because almost no
    original-script name still holds a character beyond Latin-1.
    """
    scripts = [p.original_script for p in parties if p.original_script]
    intact = sum(any(ord(c) > 0xFF and c.isalpha() for c in s) for s in scripts)
    if len(scripts) < 10 or intact * 2 >= len(scripts):
        return parties, [], ()
    action = "dropped {!r}: this file lost the high byte of non-Latin characters"
    dropped = [
        Repair(
            p.reference_number, p.data_id, "NAME_ORIGINAL_SCRIPT", action.format(p.original_script)
        )
        for p in parties
        if p.original_script
    ]
    note = (
        f"Only {intact} of {len(scripts)} original-script names hold any character beyond"
        " Latin-1: the file lost the high byte of non-Latin characters, so original-script"
        " names were dropped, and any such text inside aliases or notes is unreliable."
    )
    return [replace(p, original_script=None) for p in parties], dropped, (note,)


def _recover_records(data: bytes) -> Iterator[_Raw]:
    """Cut a damaged file into records at their start tags and read each alone."""
    marks = list(_RECORD_MARK.finditer(data))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        if mark.group(1) is None:
            continue
        end = following.start() if following else len(data)
        notes: _Notes = []
        chunk = data[mark.start() : end].decode("utf-8", "surrogateescape")
        yield mark.start(), _read_chunk(chunk, mark.group(1).decode(), notes), notes


def _read_chunk(text: str, tag: str, notes: _Notes) -> ET.Element:
    close = f"</{tag}>"
    cut = text.rfind(close)
    if cut < 0:
        notes.append((tag, f"added the missing {close}"))
        text = text.rstrip() + close
    else:
        text = text[: cut + len(close)]
    with contextlib.suppress(ET.ParseError):
        return ET.fromstring(text.encode("utf-8", "surrogateescape"))  # noqa: S314 - see _check_head
    cleaned = _clean_markup(text, notes)
    try:
        return ET.fromstring(cleaned)  # noqa: S314 - see _check_head
    except ET.ParseError as exc:
        return _scan_fields(cleaned, tag, str(exc), notes)


def _clean_markup(text: str, notes: _Notes) -> str:
    """Repair the text between known tags, noting each change under its element path."""
    out: list[str] = []
    path: list[str] = []
    siblings: list[Counter[str]] = [Counter()]
    pos = 0
    for tag in _MARKUP.finditer(text):
        closing, name, empty = tag.groups()
        if name not in _ELEMENTS:
            continue
        out += (_clean_text(text[pos : tag.start()], _path(path), notes), tag[0])
        pos = tag.end()
        if closing and name in (p.split("[")[0] for p in path):
            while path.pop().split("[")[0] != name:
                siblings.pop()
            siblings.pop()
        elif not closing:
            siblings[-1][name] += 1
            label = f"{name}[{siblings[-1][name]}]" if name in _REPEATED else name
            if not empty:
                path.append(label)
                siblings.append(Counter())
    out.append(_clean_text(text[pos:], _path(path), notes))
    return "".join(out)


def _path(open_elements: list[str]) -> str:
    """Where text sits in a record: "INDIVIDUAL_ALIAS[2]/ALIAS_NAME", or the record itself."""
    return "/".join(open_elements[1:]) or (open_elements[0] if open_elements else "?")


def _clean_text(text: str, field: str, notes: _Notes) -> str:
    if not _NEEDS_CLEANING.search(text):
        return text
    for pattern, fix, action in _FIXES:
        new = [fix(m) for m in pattern.finditer(text)]
        if new:
            text = pattern.sub(fix, text)
            plural = "s" if len(new) > 1 else ""
            notes.append((field, action.format(n=len(new), s=plural, new="".join(new))))
    return text


def _byte_as_latin1(match: re.Match[str]) -> str:
    byte = ord(match[0]) - 0xDC00  # "surrogateescape" decoded the bad byte to U+DC80-U+DCFF
    return chr(byte) if byte >= 0xA0 else "\ufffd"  # C1 controls are never text


def _control_as_punctuation(match: re.Match[str]) -> str:
    code = ord(match[0])
    return chr(0x2000 + code) if 0x10 <= code <= 0x1E else ""


_FIXES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str], str], ...] = (
    (_INVALID_BYTE, _byte_as_latin1, "read {n} invalid UTF-8 byte{s} as Latin-1 {new!r}"),
    (_CONTROL, _control_as_punctuation, "replaced {n} control character{s} with {new!r}"),
    (_BARE_AMP, lambda _: "&amp;", "escaped {n} bare '&'"),
    (re.compile("<"), lambda _: "&lt;", "escaped {n} stray '<'"),
)


def _scan_fields(text: str, tag: str, error: str, notes: _Notes) -> ET.Element:
    """Last resort for a record whose markup is broken: pick out its simple fields."""
    record = ET.Element(tag)
    for name in _SCANNED:
        if found := re.search(rf"<{name}>(.*?)</{name}>", text, re.S):
            ET.SubElement(record, name).text = unescape(found[1])
    kept = [child.tag for child in record]
    present = set(re.findall(r"<([A-Z][A-Z0-9_]*)\s*/?>", text)) & _RECORD_FIELDS
    lost = sorted(present - set(kept) - _NOT_LOADED)
    kept_text, lost_text = ", ".join(kept) or "nothing", ", ".join(lost) or "nothing"
    notes.append((tag, f"markup broken ({error}); kept {kept_text}, lost {lost_text}"))
    return record


def _read_party(record: ET.Element, notes: _Notes) -> ListedParty:
    kind = PartyKind.INDIVIDUAL if record.tag == "INDIVIDUAL" else PartyKind.ENTITY
    reference = _name(record.findtext("REFERENCE_NUMBER"))
    parts = tuple(p for p in (_name(record.findtext(t)) for t in _NAME_TAGS) if p)
    if not reference or not parts:
        raise _RecordError("no REFERENCE_NUMBER" if not reference else "no name", reference or None)
    return ListedParty(
        reference_number=reference,
        data_id=_name(record.findtext("DATAID")),
        kind=kind,
        list_type=_name(record.findtext("UN_LIST_TYPE")),
        name=" ".join(parts),
        name_parts=parts,
        original_script=_text(record.findtext("NAME_ORIGINAL_SCRIPT")),
        aliases=_aliases(record, kind, notes),
        listed_on=_date(record.findtext("LISTED_ON"), "LISTED_ON", notes),
        birth_dates=_birth_dates(record, notes),
        places_of_birth=_addresses(record, "INDIVIDUAL_PLACE_OF_BIRTH"),
        nationalities=_values(record, "NATIONALITY"),
        documents=_documents(record),
        addresses=_addresses(record, f"{record.tag}_ADDRESS"),
        titles=_values(record, "TITLE"),
        designations=_values(record, "DESIGNATION"),
        gender=_text(record.findtext("GENDER")),
        comments=_text(record.findtext("COMMENTS1")),
        version_num=_text(record.findtext("VERSIONNUM")),
        last_updated=_dates(record, "LAST_DAY_UPDATED", notes),
    )


def _aliases(record: ET.Element, kind: PartyKind, notes: _Notes) -> tuple[Alias, ...]:
    tag = f"{record.tag}_ALIAS"
    qualities = _QUALITIES[kind]
    default = next(iter(qualities.values()))
    aliases = []
    for index, alias in enumerate(record.iterfind(tag), 1):
        name = _name(alias.findtext("ALIAS_NAME"))
        if not name:  # the UN writes empty placeholder aliases; nothing was lost
            continue
        raw = alias.findtext("QUALITY") or ""
        quality = qualities.get(re.sub(r"[\s.]", "", raw).lower())
        if quality is None:
            notes.append((f"{tag}[{index}]/QUALITY", f"unknown quality {raw!r}, read as {default}"))
            quality = default
        aliases.append(Alias(name, quality, _text(alias.findtext("NOTE"))))
    return tuple(aliases)


def _birth_dates(record: ET.Element, notes: _Notes) -> tuple[BirthDate, ...]:
    found = []
    for index, dob in enumerate(record.iterfind("INDIVIDUAL_DATE_OF_BIRTH"), 1):
        where = f"INDIVIDUAL_DATE_OF_BIRTH[{index}]"
        birth = BirthDate(
            kind=(dob.findtext("TYPE_OF_DATE") or "").strip().lower() or "exact",
            date=_date(dob.findtext("DATE"), f"{where}/DATE", notes),
            year=_year(dob.findtext("YEAR"), f"{where}/YEAR", notes),
            from_year=_year(dob.findtext("FROM_YEAR"), f"{where}/FROM_YEAR", notes),
            to_year=_year(dob.findtext("TO_YEAR"), f"{where}/TO_YEAR", notes),
            note=_text(dob.findtext("NOTE")),
        )
        if birth != BirthDate(kind=birth.kind):  # the UN writes empty ones
            found.append(birth)
    # Some exports list further dates of birth as nameless aliases; they are the
    # person's, and later exports list them as INDIVIDUAL_DATE_OF_BIRTH.
    for index, alias in enumerate(record.iterfind("INDIVIDUAL_ALIAS"), 1):
        if _name(alias.findtext("ALIAS_NAME")):
            continue
        where = f"INDIVIDUAL_ALIAS[{index}]/DATE_OF_BIRTH"
        birth_ = _alias_birth_date(alias.findtext("DATE_OF_BIRTH") or "", where, notes)
        if birth_ and birth_ not in found:
            found.append(birth_)
    return tuple(found)


def _alias_birth_date(text: str, field: str, notes: _Notes) -> BirthDate | None:
    text = text.strip()
    if between := re.fullmatch(r"([0-9]{4})\s*-\s*([0-9]{4})", text):
        return BirthDate("between", from_year=int(between[1]), to_year=int(between[2]))
    if re.fullmatch(r"[0-9]{4}", text):
        return BirthDate("exact", year=int(text))
    if text.lower() in ("", "null"):  # "null" is how those exports say "none"
        return None
    found = _date(text, field, notes)
    return BirthDate("exact", date=found) if found else None


def _documents(record: ET.Element) -> tuple[IdDocument, ...]:
    found = []
    for doc in record.iterfind("INDIVIDUAL_DOCUMENT"):
        text = {child.tag: _text(child.text) for child in doc}
        document = IdDocument(
            type=text.get("TYPE_OF_DOCUMENT"),
            number=text.get("NUMBER"),
            type2=text.get("TYPE_OF_DOCUMENT2"),
            issuing_country=text.get("ISSUING_COUNTRY") or text.get("COUNTRY_OF_ISSUE"),
            date_of_issue=_date_text(text.get("DATE_OF_ISSUE")),
            note=text.get("NOTE"),
        )
        if document != IdDocument(type=None, number=None):  # the UN writes empty ones
            found.append(document)
    return tuple(found)


def _addresses(record: ET.Element, tag: str) -> tuple[Address, ...]:
    found = []
    for place in record.iterfind(tag):
        text = {child.tag: _text(child.text) for child in place}
        address = Address(
            street=text.get("STREET"),
            city=text.get("CITY"),
            state_province=text.get("STATE_PROVINCE"),
            country=text.get("COUNTRY"),
            note=text.get("NOTE"),
        )
        if address != Address():  # the UN writes empty ones
            found.append(address)
    return tuple(found)


def _values(record: ET.Element, tag: str) -> tuple[str, ...]:
    return tuple(v for v in (_name(e.text) for e in record.iterfind(f"{tag}/VALUE")) if v)


def _dates(record: ET.Element, tag: str, notes: _Notes) -> tuple[date, ...]:
    found = (_date(e.text, f"{tag}/VALUE", notes) for e in record.iterfind(f"{tag}/VALUE"))
    return tuple(d for d in found if d)


def _date(value: str | None, field: str, notes: _Notes) -> date | None:
    """ISO date; the UN sometimes appends a time-zone offset ("2015-04-14-04:00")."""
    if not value or not value.strip():
        return None
    if match := _DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(match[1])
    notes.append((field, f"unreadable date {value.strip()!r}, left empty"))
    return None


def _date_text(value: str | None) -> str | None:
    parsed = _date(value, "", [])
    return parsed.isoformat() if parsed else _text(value)


def _year(value: str | None, field: str, notes: _Notes) -> int | None:
    text = (value or "").strip()
    if re.fullmatch(r"[0-9]{4}", text):
        return int(text)
    if text:
        notes.append((field, f"unreadable year {text!r}, left empty"))
    return None


def _name(value: str | None) -> str:
    """Names and codes: stray and repeated whitespace removed."""
    return " ".join(value.split()) if value else ""


def _text(value: str | None) -> str | None:
    """Free text: trimmed, None when empty."""
    return (value.strip() or None) if value else None
