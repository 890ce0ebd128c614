"""Parsing the UN Consolidated List XML: clean, damaged and refused files, and list diffs."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from services.core.sanctions_list import Alias, AliasQuality, BirthDate, PartyKind, SanctionsList
from services.core.un_xml import (
    Amendment,
    ImportReport,
    NotAUnListError,
    diff_lists,
    parse_list,
)

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "data" / "un-consolidated-2024-09-26.xml"
DAMAGED = ROOT / "data" / "un-consolidated-2025-08-16-damaged.xml"
ELEMENT_PATH = re.compile(r"[A-Z][A-Z0-9_]*(\[\d+\])?(/[A-Z][A-Z0-9_]*(\[\d+\])?)*")

Parsed = tuple[SanctionsList, ImportReport]


@pytest.fixture(scope="module")
def clean() -> Parsed:
    return parse_list(CLEAN.read_bytes())


@pytest.fixture(scope="module")
def damaged() -> Parsed:
    return parse_list(DAMAGED.read_bytes())


def individual(ref: str = "XXi.001", first: str = "JOHN", extra: str = "") -> str:
    return (
        f"<INDIVIDUAL><DATAID>1{ref[-3:]}</DATAID><VERSIONNUM>1</VERSIONNUM>"
        f"<FIRST_NAME>{first}</FIRST_NAME><SECOND_NAME>DOE</SECOND_NAME>"
        f"<UN_LIST_TYPE>Haiti</UN_LIST_TYPE><REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER>"
        f"<LISTED_ON>2024-01-02</LISTED_ON>{extra}</INDIVIDUAL>\n"
    )


def entity(ref: str = "XXe.001", aliases: str = "") -> str:
    return (
        f"<ENTITY><DATAID>2{ref[-3:]}</DATAID><FIRST_NAME>ACME GANG</FIRST_NAME>"
        f"<UN_LIST_TYPE>Haiti</UN_LIST_TYPE><REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER>"
        f"<LISTED_ON>2025-07-08</LISTED_ON>{aliases}</ENTITY>\n"
    )


def un_list(individuals: str = "", entities: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CONSOLIDATED_LIST dateGenerated="2025-01-01T00:00:00Z">\n'
        f"<INDIVIDUALS>\n{individuals}</INDIVIDUALS>\n<ENTITIES>\n{entities}</ENTITIES>\n"
        "</CONSOLIDATED_LIST>\n"
    ).encode()


# --- the clean 2024 list ---------------------------------------------------------------


def test_clean_file_has_every_record_and_needs_no_repair(clean: Parsed) -> None:
    listing, report = clean
    assert len(listing.parties) == 875
    assert (report.individuals, report.entities) == (682, 193)
    assert sum(p.kind is PartyKind.INDIVIDUAL for p in listing.parties) == 682
    assert report.repairs == ()
    assert report.unreadable == ()
    assert not report.damaged
    assert report.summary().startswith("Read 875 records (682 individuals, 193 entities).")


def test_clean_file_identity(clean: Parsed) -> None:
    listing, _ = clean
    assert listing.sha256 == hashlib.sha256(CLEAN.read_bytes()).hexdigest()
    assert listing.date_generated == "2024-09-26T00:00:07.514Z"
    assert listing.version.startswith("2024-09-26#")


def test_haiti_gang_leader_fields(clean: Parsed) -> None:
    party = clean[0].by_reference["HTi.001"]
    assert party.kind is PartyKind.INDIVIDUAL
    assert party.name == "JIMMY CHERIZIER"  # the file itself has no accent
    assert party.name_parts == ("JIMMY", "CHERIZIER")
    assert party.data_id == "6908911"
    assert party.list_type == "Haiti"
    assert party.listed_on == date(2022, 10, 21)
    assert party.aliases == (Alias("BARBEQUE", AliasQuality.LOW),)
    assert party.birth_dates == (BirthDate("exact", date=date(1977, 3, 30)),)
    assert party.nationalities == ("Haiti",)
    assert party.designations == ("Former Police Officer",)
    assert [d.number for d in party.documents] == ["001-843-989-7"]
    assert party.places_of_birth[0].state_province == "Port-au-Prince"
    assert party.last_updated == (date(2023, 10, 20),)


def test_reference_numbers_lose_stray_spaces(clean: Parsed) -> None:
    assert b"<REFERENCE_NUMBER>KPe.023 </REFERENCE_NUMBER>" in CLEAN.read_bytes()
    listing, _ = clean
    assert listing.by_reference["KPe.023"].reference_number == "KPe.023"
    assert all(p.reference_number == p.reference_number.strip() for p in listing.parties)


def test_alias_qualities_and_placeholders(clean: Parsed) -> None:
    listing, _ = clean
    by_kind = {
        kind: {a.quality for p in listing.parties if p.kind is kind for a in p.aliases}
        for kind in PartyKind
    }
    assert by_kind[PartyKind.INDIVIDUAL] == {AliasQuality.GOOD, AliasQuality.LOW}
    assert by_kind[PartyKind.ENTITY] == {AliasQuality.AKA, AliasQuality.FKA}
    assert sum(a.quality is AliasQuality.FKA for p in listing.parties for a in p.aliases) == 18
    assert all(a.name for p in listing.parties for a in p.aliases)


def test_listing_date_with_time_zone_suffix(clean: Parsed) -> None:
    assert b"<LISTED_ON>2015-04-14-04:00</LISTED_ON>" in CLEAN.read_bytes()
    assert clean[0].by_reference["YEi.004"].listed_on == date(2015, 4, 14)


def test_birth_date_forms_and_utc_suffix() -> None:
    dobs = (
        "<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE>"
        "<DATE>1970-01-01Z</DATE></INDIVIDUAL_DATE_OF_BIRTH>"
        "<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE>"
        "<YEAR>1961</YEAR></INDIVIDUAL_DATE_OF_BIRTH>"
        "<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE>"
        "<FROM_YEAR>1950</FROM_YEAR><TO_YEAR>1955</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>"
        "<INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE/></INDIVIDUAL_DATE_OF_BIRTH>"
        "<LAST_DAY_UPDATED><VALUE>2015-04-14-04:00</VALUE><VALUE/></LAST_DAY_UPDATED>"
    )
    listing, report = parse_list(un_list(individual(extra=dobs)))
    party = listing.parties[0]
    assert party.birth_dates == (
        BirthDate("exact", date=date(1970, 1, 1)),
        BirthDate("approximately", year=1961),
        BirthDate("between", from_year=1950, to_year=1955),
    )
    assert party.last_updated == (date(2015, 4, 14),)
    assert report.repairs == ()


def test_dates_of_birth_kept_in_nameless_aliases(clean: Parsed, damaged: Parsed) -> None:
    # The 2024 copy lists Kony's further birth years as nameless aliases; the 2025
    # copy lists them as dates of birth. Both must reach birth_dates.
    old = clean[0].by_reference["CFi.009"].birth_dates
    assert BirthDate("exact", year=1960) in old
    assert BirthDate("exact", date=date(1964, 9, 18)) in old
    assert set(old) <= set(damaged[0].by_reference["CFi.009"].birth_dates)


def test_alias_quality_variants_and_unknown_quality() -> None:
    aliases = (
        "<ENTITY_ALIAS><QUALITY> A.K.A. </QUALITY><ALIAS_NAME>ACME</ALIAS_NAME></ENTITY_ALIAS>"
        "<ENTITY_ALIAS><QUALITY>fka</QUALITY><ALIAS_NAME>OLD ACME</ALIAS_NAME></ENTITY_ALIAS>"
        "<ENTITY_ALIAS><QUALITY/><ALIAS_NAME/></ENTITY_ALIAS>"
        "<ENTITY_ALIAS><QUALITY>maybe</QUALITY><ALIAS_NAME>ACME 2</ALIAS_NAME></ENTITY_ALIAS>"
    )
    listing, report = parse_list(un_list(entities=entity(aliases=aliases)))
    assert listing.parties[0].aliases == (
        Alias("ACME", AliasQuality.AKA),
        Alias("OLD ACME", AliasQuality.FKA),
        Alias("ACME 2", AliasQuality.AKA),
    )
    [repair] = report.repairs
    assert (repair.reference_number, repair.field) == ("XXe.001", "ENTITY_ALIAS[4]/QUALITY")
    assert "'maybe'" in repair.action


# --- the damaged 2025 copy --------------------------------------------------------------


def test_damaged_file_yields_every_record(damaged: Parsed) -> None:
    listing, report = damaged
    assert len(listing.parties) == 879
    assert (report.individuals, report.entities) == (684, 195)
    assert report.damaged
    assert report.unreadable == ()
    assert len(listing.by_reference) == 879


@pytest.mark.parametrize(
    ("reference", "name", "listed_on"),
    [
        ("HTi.006", "PROPHANE VICTOR", date(2024, 9, 27)),
        ("HTi.007", "LUCKSON ELAN", date(2024, 9, 27)),
        ("HTe.001", "GRAN GRIF", date(2025, 7, 8)),
        ("HTe.002", "VIV ANSANM", date(2025, 7, 8)),
    ],
)
def test_damaged_file_new_haiti_listings(
    damaged: Parsed, reference: str, name: str, listed_on: date
) -> None:
    party = damaged[0].by_reference[reference]
    assert (party.name, party.listed_on, party.list_type) == (name, listed_on, "Haiti")


def test_damaged_file_viv_ansanm_aliases(damaged: Parsed) -> None:
    party = damaged[0].by_reference["HTe.002"]
    assert party.kind is PartyKind.ENTITY
    assert Alias("G9 FAMILY AND ALLIES", AliasQuality.AKA) in party.aliases
    # its comment held a Latin-1 "é" that is invalid UTF-8
    assert party.comments is not None
    assert party.comments.startswith("Jimmy Chérizier (HTi.001) is the leader")


def test_damaged_file_repairs_name_a_record_and_a_field(damaged: Parsed) -> None:
    listing, report = damaged
    assert len(report.repairs) > 100
    for repair in report.repairs:
        assert repair.reference_number in listing.by_reference
        assert ELEMENT_PATH.fullmatch(repair.field), repair
        assert repair.action
    by_field = report.repairs_by_field()
    assert by_field["FIRST_NAME"] > 0
    assert by_field["COMMENTS1"] > 0
    assert by_field["INDIVIDUAL_ALIAS/ALIAS_NAME"] > 0
    assert f"Repaired {len(report.repairs)} fields" in report.summary()


def test_damaged_names_are_restored_exactly(clean: Parsed, damaged: Parsed) -> None:
    repaired = {
        r.reference_number or ""
        for r in damaged[1].repairs
        if r.field in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
    }
    assert len(repaired) > 20
    assert "CDi.005" in repaired  # "J\xc9R\xd4ME" in the file
    assert damaged[0].by_reference["CDi.005"].name == "JÉRÔME KAKWAVU BUKANDE"
    for reference in repaired:
        assert damaged[0].by_reference[reference].name == clean[0].by_reference[reference].name


def test_damaged_punctuation_is_restored(clean: Parsed, damaged: Parsed) -> None:
    actions = [
        r.action
        for r in damaged[1].repairs
        if (r.reference_number, r.field) == ("CDi.002", "COMMENTS1")
    ]
    assert any(a.startswith("replaced") and "control character" in a for a in actions)
    assert damaged[0].by_reference["CDi.002"].comments == clean[0].by_reference["CDi.002"].comments


def test_damaged_record_with_stray_angle_brackets_is_recovered(damaged: Parsed) -> None:
    # Cyrillic cut to its low byte left "<0@>" inside the original-script name
    party = damaged[0].by_reference["QDi.363"]
    assert party.name == "MAGHOMED MAGHOMEDZAKIROVICH ABDURAKHMANOV"
    actions = {(r.field, r.action) for r in damaged[1].repairs if r.reference_number == "QDi.363"}
    assert ("NAME_ORIGINAL_SCRIPT", "escaped 3 stray '<'") in actions


def test_garbled_original_scripts_are_dropped_not_loaded(clean: Parsed, damaged: Parsed) -> None:
    listing, report = damaged
    assert all(p.original_script is None for p in listing.parties)
    dropped = [r for r in report.repairs if r.action.startswith("dropped")]
    assert len(dropped) == 380
    assert {r.field for r in dropped} == {"NAME_ORIGINAL_SCRIPT"}
    assert any("high byte" in note for note in report.notes)
    assert clean[0].by_reference["TAi.005"].original_script == "محمد طاهر أنوري"


# --- damage the recovery must survive ---------------------------------------------------


def test_text_repairs_are_reported_per_field() -> None:
    extra = (
        "<COMMENTS1>Gang\x19s leader &amp; Co & friends</COMMENTS1>"
        "<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME/></INDIVIDUAL_ALIAS>"
        "<INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>A<B</ALIAS_NAME></INDIVIDUAL_ALIAS>"
    )
    data = un_list(individual(first="J_R_ME", extra=extra)).replace(b"J_R_ME", b"J\xc9R\xd4ME")
    listing, report = parse_list(data)
    party = listing.parties[0]
    assert party.name == "JÉRÔME DOE"
    assert party.comments == "Gang’s leader & Co & friends"
    assert party.aliases == (Alias("A<B", AliasQuality.GOOD),)
    assert {(r.field, r.action) for r in report.repairs} == {
        ("FIRST_NAME", "read 2 invalid UTF-8 bytes as Latin-1 'ÉÔ'"),
        ("COMMENTS1", "replaced 1 control character with '’'"),
        ("COMMENTS1", "escaped 1 bare '&'"),
        ("INDIVIDUAL_ALIAS[2]/ALIAS_NAME", "escaped 1 stray '<'"),
    }
    assert {r.reference_number for r in report.repairs} == {"XXi.001"}


def test_broken_markup_keeps_the_readable_fields() -> None:
    broken = individual(
        "XXi.002",
        extra="<INDIVIDUAL_ALIAS><QUALITY>Good</ALIAS_NAME></INDIVIDUAL_ALIAS>",
    )
    listing, report = parse_list(un_list(individual("XXi.001") + broken + individual("XXi.003")))
    assert [p.reference_number for p in listing.parties] == ["XXi.001", "XXi.002", "XXi.003"]
    party = listing.by_reference["XXi.002"]
    assert (party.name, party.listed_on, party.list_type) == ("JOHN DOE", date(2024, 1, 2), "Haiti")
    [repair] = report.repairs
    assert (repair.reference_number, repair.field) == ("XXi.002", "INDIVIDUAL")
    assert "markup broken" in repair.action
    assert repair.action.endswith("lost INDIVIDUAL_ALIAS")


def test_missing_end_tag_is_added() -> None:
    data = un_list(individual("XXi.001").replace("</INDIVIDUAL>", "") + individual("XXi.002"))
    listing, report = parse_list(data)
    assert sorted(listing.by_reference) == ["XXi.001", "XXi.002"]
    assert [(r.reference_number, r.field) for r in report.repairs] == [("XXi.001", "INDIVIDUAL")]
    assert report.repairs[0].action == "added the missing </INDIVIDUAL>"


def test_record_without_reference_is_reported_unreadable() -> None:
    nameless = individual("XXi.002").replace("<REFERENCE_NUMBER>XXi.002</REFERENCE_NUMBER>", "")
    data = un_list(individual("XXi.001") + nameless.replace("DOE<", "DOE &<"))
    listing, report = parse_list(data)
    assert [p.reference_number for p in listing.parties] == ["XXi.001"]
    [lost] = report.unreadable
    assert lost.reference_number is None
    assert lost.reason.startswith("no REFERENCE_NUMBER")
    assert data[lost.position :].startswith(b"<INDIVIDUAL><DATAID>1002<")
    assert "1 records could not be read" in report.summary()


# --- files that are refused -------------------------------------------------------------


def refused(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "consolidated.xml"
    path.write_bytes(data)
    with pytest.raises(NotAUnListError) as caught:
        parse_list(path.read_bytes())
    return str(caught.value)


def test_refuses_empty_file(tmp_path: Path) -> None:
    assert "empty" in refused(tmp_path, b"")
    assert "empty" in refused(tmp_path, b" \n\t")


@pytest.mark.parametrize("data", [b"hello world", b"%PDF-1.4\n%\xe2\xe3", b'{"a": 1}', b"<<<"])
def test_refuses_bytes_that_are_not_xml(tmp_path: Path, data: bytes) -> None:
    assert "not UTF-8 XML" in refused(tmp_path, data)


def test_refuses_unrelated_xml(tmp_path: Path) -> None:
    rss = b'<?xml version="1.0"?>\n<!-- feed --><rss version="2.0"><channel/></rss>'
    message = refused(tmp_path, rss)
    assert "<rss>" in message
    assert "not <CONSOLIDATED_LIST>" in message


def test_refuses_truncated_list(tmp_path: Path) -> None:
    data = CLEAN.read_bytes()
    message = refused(tmp_path, data[: len(data) // 2])
    assert "truncated" in message
    assert "</CONSOLIDATED_LIST>" in message


def test_refuses_list_without_records(tmp_path: Path) -> None:
    assert "no records" in refused(tmp_path, b'<CONSOLIDATED_LIST dateGenerated="x"/>')
    assert "no readable records" in refused(tmp_path, un_list())


def test_refuses_list_whose_every_record_is_unreadable(tmp_path: Path) -> None:
    data = un_list(individual().replace("<REFERENCE_NUMBER>XXi.001</REFERENCE_NUMBER>", "&"))
    assert "no readable records (1 unreadable)" in refused(tmp_path, data)


def test_refuses_doctype(tmp_path: Path) -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><CONSOLIDATED_LIST/>'
    assert "DOCTYPE" in refused(tmp_path, data)


# --- diffs ------------------------------------------------------------------------------


def test_diff_2024_to_2025_lists_the_new_haiti_listings(clean: Parsed, damaged: Parsed) -> None:
    diff = diff_lists(clean[0], damaged[0])
    assert {"HTi.006", "HTi.007", "HTe.001", "HTe.002"} <= set(diff.added)
    assert list(diff.added) == sorted(diff.added)
    assert list(diff.removed) == sorted(diff.removed)
    amended = [a.reference_number for a in diff.amended]
    assert len(amended) > 1
    assert amended == sorted(amended)
    assert "HTi.001" not in diff.added + diff.removed
    assert diff.summary() == (
        f"{len(diff.added)} added, {len(diff.amended)} amended, {len(diff.removed)} removed"
    )


def test_diff_from_nothing_and_to_itself(clean: Parsed) -> None:
    first = diff_lists(None, clean[0])
    assert len(first.added) == 875
    assert first.added == tuple(sorted(first.added))
    assert diff_lists(clean[0], clean[0]).summary() == "0 added, 0 amended, 0 removed"


def test_diff_names_the_amended_fields() -> None:
    old, _ = parse_list(un_list(individual("XXi.001") + individual("XXi.002")))
    changed = replace(
        old.by_reference["XXi.002"],
        listed_on=date(2024, 5, 6),
        aliases=(Alias("JD", AliasQuality.LOW),),
    )
    new = SanctionsList("2025-02-01", "0" * 64, (changed,))
    diff = diff_lists(old, new)
    assert diff.amended == (Amendment("XXi.002", ("aliases", "listed_on")),)
    assert diff.removed == ("XXi.001",)
    assert diff.summary() == "0 added, 1 amended, 1 removed"
