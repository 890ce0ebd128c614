"""Exports, the overview and the audit log, over HTTP against the running workspace: the
numbers and rows of a regime's findings, no other regime's, and decisions with them."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration.review_app import RunningReview, review, review_database

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures


def decide(review: RunningReview, record_id: str, rule_id: str, rationale: str) -> int:
    ((fid,),) = review.sql(
        "SELECT id FROM findings WHERE record_id = %s AND rule_id = %s", record_id, rule_id
    )
    response = review.client("hana").act(
        f"/findings/{fid}/status", {"status": "confirmed", "rationale": rationale}
    )
    assert response.status_code == 303
    return int(fid)


def test_the_csv_export_holds_the_filtered_view_with_decisions(review: RunningReview) -> None:
    fid = decide(review, "des-001", "HT.designated.receiving", "=listed; see annex 4")
    hana = review.client("hana")
    response = hana.get("/findings/export?format=csv&kind=violation&limit=2")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    # Every page of the filter, not only the first two rows.
    expected = hana.get("/api/v1/findings?kind=violation&limit=500").json()["findings"]
    assert [int(r["finding_id"]) for r in rows] == [f["id"] for f in expected]
    assert {r["kind"] for r in rows} == {"violation"}
    assert "ly-001" not in response.text
    row = next(r for r in rows if int(r["finding_id"]) == fid)
    assert row["status"] == "confirmed"
    assert row["decision_rationale"] == "'=listed; see annex 4"  # never a formula
    assert row["decided_by"] == "hana"
    assert row["list_reference"] == "HTi.001"
    assert "S/RES/2653 (2022), paras 11, 12" in row["citations"]
    assert row["summary"].startswith("End user 'Jimmy Chérizier' matches designated HTi.001")
    assert row["url"].endswith(f"/findings/{fid}")


def test_the_json_export_and_its_scope(review: RunningReview) -> None:
    body = review.client("lyle").get("/api/v1/findings/export?format=json").json()
    assert {f["record_id"] for f in body["findings"]} == {"ly-001"}
    assert body["exported_by"] == "lyle"
    # Asking for Haiti's findings by filter gives a Libya reviewer nothing.
    other = review.client("lyle").get("/api/v1/findings/export?format=json&regime=HT").json()
    assert other["findings"] == []
    assert review.client("hana").get("/api/v1/findings/export?format=xml").status_code == 400
    assert review.client().get("/findings/export?format=csv").status_code == 303
    assert review.client().get("/api/v1/findings/export").status_code == 401


def test_the_overview_counts_a_regime_s_findings(review: RunningReview) -> None:
    hana = review.client("hana")
    numbers = hana.get("/api/v1/overview?regime=HT").json()
    everything = hana.get("/api/v1/findings?limit=500").json()
    assert numbers["total"] == everything["total"]
    months = {(m["month"], m["kind"]): m["findings"] for m in numbers["by_month"]}
    assert months[("2024-11", "violation")] >= 2  # demo-001, demo-006, html-001
    assert ("2023-06", "indicator") in months
    categories = {c["category"] for c in numbers["top_item_categories"]}
    assert {"small_arms.revolver_pistol", "unroca.II"} <= categories
    routes = {(r["origin"], r["destination"]) for r in numbers["top_routes"]}
    assert ("US", "HT") in routes
    assert ("IT", "LY") not in routes
    types = {t["type"]: t["transfers"] for t in numbers["end_user_types"]}
    assert types["company"] >= 2
    backlog = {b["age"]: b["findings"] for b in numbers["open_backlog_by_age"]}
    assert (
        backlog["under a week"]
        == numbers["by_status"]["open"] + numbers["by_status"]["under_review"]
    )
    page = hana.get("/overview")
    assert page.status_code == 200
    assert '<svg class="chart"' in page.text
    assert "2024-11: " in page.text
    assert hana.get("/overview?regime=LY").status_code == 404
    assert hana.get("/api/v1/overview?regime=LY").status_code == 404
    libya = review.client("lyle").get("/api/v1/overview?regime=LY").json()
    assert libya["total"] == 1


def test_the_audit_log_for_leads_auditors_and_admins_scoped(review: RunningReview) -> None:
    fid = decide(review, "demo-006", "HT.territory", "Armoured vehicles, no approval.")
    assert review.client("hana").get("/audit").status_code == 403
    assert review.client("hana").get("/api/v1/audit").status_code == 403
    for name in ("audrey", "lena", "root"):
        body = review.client(name).get(f"/api/v1/audit?finding={fid}").json()
        assert [e["rationale"] for e in body["entries"]] == ["Armoured vehicles, no approval."]
    # The Libya side sees neither Haiti's findings nor its users' management.
    lyle_lead = review.client("root")
    assert lyle_lead.get("/api/v1/audit?action=user.add").json()["entries"]
    page = review.client("audrey").get("/audit?action=finding.status")
    assert page.status_code == 200
    assert "Armoured vehicles, no approval." in page.text
    assert review.client("audrey").get("/audit?finding=abc").status_code == 400
    assert review.client("audrey").get("/audit?sort=x").status_code == 400


def test_the_audit_log_of_another_regime_is_not_shown(review: RunningReview) -> None:
    ((libyan,),) = review.sql("SELECT id FROM findings WHERE record_id = 'ly-001'")
    lyle = review.client("lyle")
    lyle.act(f"/findings/{libyan}/status", {"status": "dismissed", "rationale": "Libyan secret"})
    assert "Libyan secret" not in review.client("audrey").get("/audit").text
    assert review.client("audrey").get(f"/api/v1/audit?finding={libyan}").json()["entries"] == []
    assert "Libyan secret" in review.client("root").get("/audit").text
