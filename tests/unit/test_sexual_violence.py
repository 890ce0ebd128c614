"""Conflict-related sexual violence risk: the annex file and the indicator it raises."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from services.core import names, rules
from services.core.context import Context
from services.core.findings import Kind, Severity
from services.core.screening import screen
from services.core.sexual_violence import RULE_ID, sexual_violence_findings
from services.core.sexual_violence_annex import (
    Annex,
    AnnexError,
    AnnexIndex,
    AnnexParty,
    PartyForce,
    parse_annex,
)
from services.core.transfers import parse_transfer
from services.core.validation import COUNTRY_CODES
from services.knowledge import read_annex, shipped_annex_path
from tests.records import record
from tests.unit.test_screen_cli import ewatch

RULES = rules.load_directory(version=7)
SHIPPED = read_annex()
SHIPPED_INDEX = AnnexIndex.build(SHIPPED)
CTX = Context(ruleset=RULES, sexual_violence=SHIPPED_INDEX)
DOCS = {"export_licence": "EL-1", "end_user_certificate": "EUC-1"}


def to_party(name: str = "Hamas", country: str | None = "PS", **changes: Any) -> dict[str, Any]:
    """Rifles from Iran to ``name``, the end user, in the State of Palestine."""
    fields = {
        "transfer_date": "2025-09-01",
        "route": {"origin": "IR", "destination": "PS"},
        "documents": DOCS,
    }
    rec = record("crsv-1", **(fields | changes))
    rec["parties"] = [
        {"role": "exporter", "name": "Pars Trading Company", "country": "IR", "type": "company"},
        {"role": "end_user", "name": name, "type": "armed_group"}
        | ({"country": country} if country else {}),
    ]
    return rec


def crsv(rec: dict[str, Any], ctx: Context = CTX) -> list[Any]:
    return sexual_violence_findings(parse_transfer(rec), ctx)


def annex_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(shipped_annex_path().read_bytes())
    return doc | changes


def as_bytes(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True).encode()


# --- the shipped annex ----------------------------------------------------------------


def test_the_shipped_annex_says_which_report_it_is_and_that_it_is_partial() -> None:
    assert SHIPPED.symbol == "S/2025/389"
    assert SHIPPED.date == date(2025, 8, 14)
    assert SHIPPED.url.startswith("https://")
    assert SHIPPED.complete is False
    assert SHIPPED.parties_listed == 63
    assert SHIPPED.extent == "partial (1 of the 63 parties it lists)"
    assert SHIPPED.version.startswith("S/2025/389#")


def test_every_shipped_party_has_a_source_a_country_and_a_kind() -> None:
    assert SHIPPED.parties
    for party in SHIPPED.parties:
        assert party.source.strip()
        assert "http" in party.source  # where a reviewer can read it
        assert party.country in COUNTRY_CODES
        assert isinstance(party.kind, PartyForce)


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"symbol": "2025/389"}, "is not a document symbol"),
        ({"date": "14 August 2025"}, "is not a date"),
        ({"url": "undocs.org/S/2025/389"}, "is not an http(s) address"),
        ({"complete": "no"}, "is not true or false"),
        ({"parties": []}, "parties: expected a non-empty list"),
        ({"listed": 63}, "unknown key 'listed'"),
        ({"parties_listed": 0}, "is not a positive number"),
    ],
)
def test_an_annex_with_a_bad_field_is_refused_with_the_field_named(
    changes: dict[str, Any], said: str
) -> None:
    with pytest.raises(AnnexError, match=said.replace("(", r"\(").replace(")", r"\)")):
        parse_annex(as_bytes(annex_doc(**changes)))


@pytest.mark.parametrize(
    ("party", "said"),
    [
        ({"country": "PS", "kind": "armed_group", "source": "x"}, "parties[1]: name None"),
        ({"name": "A", "country": "Palestine", "kind": "armed_group", "source": "x"}, "ISO"),
        ({"name": "A", "country": "PS", "kind": "militia", "source": "x"}, "state_forces"),
        ({"name": "A", "country": "PS", "kind": "armed_group"}, "public source"),
        ({"name": "A", "country": "PS", "kind": "armed_group", "source": " "}, "public source"),
        (
            {"name": "A", "country": "PS", "kind": "armed_group", "source": "x", "aliases": "B"},
            "list",
        ),
    ],
)
def test_a_party_without_a_name_country_kind_or_source_is_refused(
    party: dict[str, Any], said: str
) -> None:
    with pytest.raises(AnnexError, match=said.replace("[", r"\[").replace("]", r"\]")):
        parse_annex(as_bytes(annex_doc(parties=[party])))


def test_text_that_is_not_an_annex_is_refused() -> None:
    with pytest.raises(AnnexError, match="not an annex"):
        parse_annex(b"- just\n- a list\n")
    with pytest.raises(AnnexError, match="not YAML"):
        parse_annex(b"symbol: [unclosed\n")


# --- the indicator ------------------------------------------------------------------


def test_arms_to_a_listed_party_raise_a_high_indicator_citing_the_report_and_att() -> None:
    (finding,) = crsv(to_party())
    assert finding.kind is Kind.INDICATOR
    assert finding.severity is Severity.HIGH
    assert finding.rule_id == RULE_ID
    assert finding.citations == ("S/2025/389, annex", "Arms Trade Treaty (2013), art. 7(4)")
    assert "S/2025/389 (2025-08-14)" in finding.summary
    assert "art. 7(4)" in finding.summary
    assert "partial (1 of the 63 parties it lists)" in finding.summary
    evidence = finding.evidence
    assert evidence["annex_complete"] is False
    assert evidence["listed_party"]["name"] == "Hamas"
    assert "ejpress.org" in evidence["listed_party"]["source"]
    assert evidence["score"] >= names.DEFAULT_THRESHOLD


def test_a_complete_annex_does_not_call_itself_partial() -> None:
    complete = dataclasses.replace(SHIPPED, complete=True)
    ctx = dataclasses.replace(CTX, sexual_violence=AnnexIndex.build(complete))
    (finding,) = crsv(to_party(), ctx)
    assert "partial" not in finding.summary


def test_a_transfer_before_the_report_says_the_party_may_not_have_been_listed() -> None:
    (finding,) = crsv(to_party(transfer_date="2024-03-01"))
    assert "published on 2025-08-14, after the transfer" in finding.summary
    assert finding.severity is Severity.HIGH


@pytest.mark.parametrize("name", ["HAMAS", "hamas", "Hammas"])
def test_spellings_the_name_engine_matches_are_caught(name: str) -> None:
    assert [f.rule_id for f in crsv(to_party(name))] == [RULE_ID]


def test_a_receiving_party_without_a_country_is_read_as_where_the_goods_go() -> None:
    assert [f.rule_id for f in crsv(to_party(country=None))] == [RULE_ID]


@pytest.mark.parametrize("name", ["Hama Trading Co", "Hamas Movement", "Gaza Sporting Goods"])
def test_names_below_the_threshold_raise_nothing(name: str) -> None:
    assert crsv(to_party(name)) == []


def test_a_listed_party_in_a_role_that_does_not_receive_the_goods_raises_nothing() -> None:
    rec = to_party("Gaza Sporting Goods")
    rec["parties"].append({"role": "broker", "name": "Hamas", "country": "PS"})
    assert crsv(rec) == []


class _Untouchable:
    """A name index that fails the test if a record makes it search."""

    def search(self, *args: object, **kwargs: object) -> list[Any]:
        raise AssertionError("searched a party outside the annex's countries")


def test_a_record_with_no_receiving_party_in_an_annex_country_is_never_searched() -> None:
    index = dataclasses.replace(SHIPPED_INDEX, names=_Untouchable())
    ctx = dataclasses.replace(CTX, sexual_violence=index)
    rec = record("far-1", transfer_date="2025-09-01", documents=DOCS)  # pistols to Haiti
    assert crsv(rec, ctx) == []
    assert crsv(to_party(country="LB"), ctx) == []


def test_without_an_annex_nothing_is_raised() -> None:
    assert crsv(to_party(), Context(ruleset=RULES)) == []


def test_screen_reports_the_indicator_once_alongside_the_others() -> None:
    rec = to_party()
    rec["parties"][1]["role"] = "consignee"
    rec["parties"].append({"role": "end_user", "name": "Hamas", "country": "PS"})
    findings = [f for f in screen(parse_transfer(rec), CTX) if f.rule_id == RULE_ID]
    assert len(findings) == 1


def test_an_annex_of_several_parties_finds_each_by_its_aliases() -> None:
    other = AnnexParty(
        "Test Armed Group", "CD", PartyForce.ARMED_GROUP, "test fixture", ("TAG Coalition",)
    )
    annex = Annex(
        symbol="S/2099/1",
        date=date(2099, 1, 1),
        url="https://example.org/annex",
        complete=True,
        parties=(*SHIPPED.parties, other),
        sha256="0" * 64,
    )
    ctx = dataclasses.replace(CTX, sexual_violence=AnnexIndex.build(annex))
    rec = to_party("TAG Coalition", country="CD", route={"origin": "UG", "destination": "CD"})
    (finding,) = crsv(rec, ctx)
    assert finding.evidence["listed_party"]["name"] == "Test Armed Group"
    assert finding.evidence["matched_on"] == "alias"


# --- ewatch screen ------------------------------------------------------------------


def test_ewatch_screen_uses_the_shipped_annex_or_the_one_given(tmp_path: Path) -> None:
    records = tmp_path / "records.ndjson"
    records.write_bytes(orjson.dumps(to_party()) + b"\n")
    shipped = ewatch("screen", str(records))
    assert shipped.returncode == 0, shipped.stderr
    assert RULE_ID in {orjson.loads(line)["rule_id"] for line in shipped.stdout.splitlines()}

    other = tmp_path / "other.yaml"
    party = {"name": "Test Armed Group", "country": "CD", "kind": "armed_group", "source": "t"}
    other.write_bytes(as_bytes(annex_doc(parties=[party])))
    given = ewatch("screen", str(records), "--crsv", str(other))
    assert given.returncode == 0, given.stderr
    assert RULE_ID not in given.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_bytes(as_bytes(annex_doc(parties=[party | {"country": "XX"}])))
    refused = ewatch("screen", str(records), "--crsv", str(bad))
    assert refused.returncode == 2
    assert "country 'XX' is not an ISO alpha-2 code" in refused.stderr
