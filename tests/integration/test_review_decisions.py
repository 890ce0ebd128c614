"""Deciding findings over HTTP against the running workspace: the status moves and their
rationale, assignment, comments, reopening, bulk triage, CSRF, scoping of every act, and
decisions that outlive a re-screen."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from tests.integration.review_app import RunningReview, review, review_database
from tests.review_data import records, store_findings

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures


def finding_id(review: RunningReview, record_id: str, rule_id: str) -> int:
    rows = review.sql(
        "SELECT id FROM findings WHERE record_id = %s AND rule_id = %s AND superseded_at IS NULL",
        record_id,
        rule_id,
    )
    assert len(rows) == 1, rows
    return int(rows[0][0])


def state(review: RunningReview, fid: int) -> tuple[Any, ...]:
    (row,) = review.sql(
        "SELECT f.status, u.name FROM findings f LEFT JOIN users u ON u.id = f.assignee_id "
        "WHERE f.id = %s",
        fid,
    )
    return tuple(row)


def audit(review: RunningReview, fid: int) -> list[tuple[Any, ...]]:
    return review.sql(
        "SELECT a.action, u.name, a.via, a.before, a.after, a.rationale FROM audit_log a "
        "LEFT JOIN users u ON u.id = a.actor_id WHERE a.finding_id = %s ORDER BY a.id",
        fid,
    )


def test_a_reviewer_takes_a_finding_and_decides_it_with_a_rationale(
    review: RunningReview,
) -> None:
    fid = finding_id(review, "demo-004", "HT.territory")
    hana = review.client("hana")
    assert hana.act(f"/findings/{fid}/status", {"status": "under_review"}).status_code == 303
    assert state(review, fid) == ("under_review", "hana")
    response = hana.act(
        f"/findings/{fid}/status",
        {
            "status": "confirmed",
            "rationale": "No Committee approval on file.",
            "expected": "under_review",
        },
    )
    assert response.status_code == 303
    assert state(review, fid) == ("confirmed", "hana")
    assert audit(review, fid) == [
        (
            "finding.status",
            "hana",
            "web",
            {"status": "open", "assignee": None},
            {"status": "under_review", "assignee": "hana"},
            None,
        ),
        (
            "finding.status",
            "hana",
            "web",
            {"status": "under_review", "assignee": "hana"},
            {"status": "confirmed", "assignee": "hana"},
            "No Committee approval on file.",
        ),
    ]
    page = hana.get(f"/findings/{fid}").text
    assert "No Committee approval on file." in page
    assert "under review → confirmed" in page
    # Decided: no more moves, not even by its reviewer.
    again = hana.act(f"/findings/{fid}/status", {"status": "dismissed", "rationale": "oops"})
    assert again.status_code == 422
    assert "only a lead can reopen" in again.text


def test_a_decision_without_a_rationale_is_refused(review: RunningReview) -> None:
    fid = finding_id(review, "demo-004", "indicator.organised_crime")
    response = review.client("hana").act(
        f"/findings/{fid}/status", {"status": "dismissed", "rationale": "   "}
    )
    assert response.status_code == 422
    assert "rationale is required" in response.text
    assert state(review, fid) == ("open", None)
    assert audit(review, fid) == []


def test_only_a_lead_reopens_a_decided_finding_and_says_why(review: RunningReview) -> None:
    fid = finding_id(review, "demo-006", "HT.territory")
    hana, lena = review.client("hana"), review.client("lena")
    hana.act(f"/findings/{fid}/status", {"status": "referred", "rationale": "For the Committee."})
    assert hana.act(f"/findings/{fid}/reopen", {"rationale": "please"}).status_code == 422
    assert lena.act(f"/findings/{fid}/reopen", {"rationale": ""}).status_code == 422
    assert state(review, fid)[0] == "referred"
    reopened = lena.act(f"/findings/{fid}/reopen", {"rationale": "The licence was forged."})
    assert reopened.status_code == 303
    assert state(review, fid)[0] == "open"
    last = audit(review, fid)[-1]
    assert last[:2] == ("finding.reopen", "lena")
    assert last[5] == "The licence was forged."


def test_assignment_to_a_reviewer_of_the_regime(review: RunningReview) -> None:
    fid = finding_id(review, "demo-003", "indicator.organised_crime")
    lena, hana, hugo = review.client("lena"), review.client("hana"), review.client("hugo")
    assert lena.act(f"/findings/{fid}/assign", {"assignee": "lyle"}).status_code == 422
    assert lena.act(f"/findings/{fid}/assign", {"assignee": "audrey"}).status_code == 422
    assert hana.act(f"/findings/{fid}/assign", {"assignee": "hugo"}).status_code == 422
    assert hana.act(f"/findings/{fid}/assign", {"assignee": "hana"}).status_code == 303
    assert state(review, fid) == ("open", "hana")
    assert hugo.act(f"/findings/{fid}/assign", {"assignee": "hugo"}).status_code == 422
    assert lena.act(f"/findings/{fid}/assign", {"assignee": "hugo"}).status_code == 303
    assert state(review, fid) == ("open", "hugo")
    assert [(a[0], a[1], a[4]) for a in audit(review, fid)] == [
        ("finding.assign", "hana", {"assignee": "hana"}),
        ("finding.assign", "lena", {"assignee": "hugo"}),
    ]


def test_comments_are_kept_shown_as_text_and_audited(review: RunningReview) -> None:
    fid = finding_id(review, "demo-003", "indicator.end_user_certificate_missing")
    hana = review.client("hana")
    body = "Asked customs for the EUC <img src=x onerror=alert(1)>"
    assert hana.act(f"/findings/{fid}/comments", {"body": body}).status_code == 303
    page = hana.get(f"/findings/{fid}").text
    assert "<img src=x" not in page
    assert "Asked customs for the EUC &lt;img src=x onerror=alert(1)&gt;" in page
    assert audit(review, fid)[0][0] == "finding.comment"
    assert (
        review.client("audrey").act(f"/findings/{fid}/comments", {"body": "x"}).status_code == 422
    )


def test_a_form_or_a_cookie_api_call_without_its_csrf_token_is_refused(
    review: RunningReview,
) -> None:
    fid = finding_id(review, "html-001", "HT.territory")
    hana = review.client("hana")
    form = {"status": "dismissed", "rationale": "forged by another site"}
    assert hana.post(f"/findings/{fid}/status", data=form).status_code == 403
    assert hana.post(f"/findings/{fid}/status", data={**form, "csrf_token": "x"}).status_code == 403
    api = f"/api/v1/findings/{fid}/status"
    assert hana.post(api, json={"status": "under_review"}).status_code == 403
    assert (
        hana.post(api, json={"status": "under_review"}, headers={"X-CSRF-Token": "x"}).status_code
        == 403
    )
    assert state(review, fid) == ("open", None)
    ok = hana.post(api, json={"status": "under_review"}, headers={"X-CSRF-Token": hana.csrf or ""})
    assert ok.status_code == 200, ok.text
    assert ok.json()["finding"]["status"] == "under_review"
    # A bearer token is no browser credential: no CSRF token needed.
    bearer = {"Authorization": f"Bearer {review.token('hana')}"}
    back = review.client().post(api, json={"status": "open"}, headers=bearer)
    assert back.status_code == 200, back.text
    # The cookie call is the browser's ("web"), the bearer one a script's ("api").
    assert [a[2] for a in audit(review, fid)] == ["web", "api"]


def test_no_act_reaches_a_finding_of_another_regime(review: RunningReview) -> None:
    libyan = finding_id(review, "ly-001", "LY.territory")
    own = finding_id(review, "des-001", "indicator.organised_crime")
    hana = review.client("hana")
    headers = {"X-CSRF-Token": hana.csrf or ""}
    decide = {"status": "dismissed", "rationale": "not ours"}
    assert hana.act(f"/findings/{libyan}/status", decide).status_code == 404
    assert hana.act(f"/findings/{libyan}/assign", {"assignee": "hana"}).status_code == 404
    assert hana.act(f"/findings/{libyan}/comments", {"body": "peek"}).status_code == 404
    assert (
        review.client("lena").act(f"/findings/{libyan}/reopen", {"rationale": "x"}).status_code
        == 404
    )
    assert (
        hana.post(f"/api/v1/findings/{libyan}/status", json=decide, headers=headers).status_code
        == 404
    )
    bulk = hana.act("/findings/bulk", [("id", str(own)), ("id", str(libyan)), *decide.items()])
    assert bulk.status_code == 404
    api_bulk = hana.post(
        "/api/v1/findings/bulk", json={"ids": [own, libyan], **decide}, headers=headers
    )
    assert api_bulk.status_code == 404
    by_filter = hana.post(
        "/api/v1/findings/bulk", json={"filter": "regime=LY", **decide}, headers=headers
    )
    assert by_filter.status_code == 422
    assert state(review, libyan) == ("open", None)
    assert state(review, own) == ("open", None)
    assert audit(review, libyan) == []


def test_bulk_triage_applies_one_rationale_and_audits_each_finding(review: RunningReview) -> None:
    first = finding_id(review, "des-001", "HT.territory")
    second = finding_id(review, "des-001", "HT.designated.receiving")
    hana = review.client("hana")
    hana.act(f"/findings/{second}/status", {"status": "confirmed", "rationale": "listed"})
    response = hana.act(
        "/findings/bulk",
        [("id", str(first)), ("id", str(second)), ("status", "referred"), ("rationale", "Annex 4")],
    )
    assert response.status_code == 200
    assert "1 finding(s) now referred to the Committee" in response.text
    assert "was decided (confirmed)" in response.text
    assert state(review, first)[0] == "referred"
    assert state(review, second)[0] == "confirmed"
    assert audit(review, first)[-1][5] == "Annex 4"
    assert audit(review, second)[-1][5] == "listed"
    # By filter, through the API: every open finding of demo-001's exporter in 2024-11.
    lena = review.client("lena")
    by_filter = lena.post(
        "/api/v1/findings/bulk",
        json={"filter": "party=caribbean&status=open", "status": "under_review"},
        headers={"X-CSRF-Token": lena.csrf or ""},
    )
    assert by_filter.status_code == 200, by_filter.text
    changed = by_filter.json()["changed"]
    assert changed
    for fid in changed:
        assert audit(review, fid)[-1][:2] == ("finding.status", "lena")


def test_a_change_made_meanwhile_is_a_conflict(review: RunningReview) -> None:
    fid = finding_id(review, "demo-003", "indicator.end_user_certificate_missing")
    hana, hugo = review.client("hana"), review.client("hugo")
    hana.act(
        f"/findings/{fid}/status",
        {"status": "dismissed", "rationale": "benign", "expected": "open"},
    )
    late = hugo.act(
        f"/findings/{fid}/status", {"status": "confirmed", "rationale": "bad", "expected": "open"}
    )
    assert late.status_code == 409
    assert state(review, fid)[0] == "dismissed"


def test_an_auditor_reads_but_changes_nothing(review: RunningReview) -> None:
    fid = finding_id(review, "demo-004", "indicator.organised_crime")
    audrey = review.client("audrey")
    assert audrey.get(f"/findings/{fid}").status_code == 200
    response = audrey.act(f"/findings/{fid}/status", {"status": "under_review"})
    assert response.status_code == 422
    assert "does not change findings" in response.text
    assert state(review, fid) == ("open", None)


def test_decisions_survive_a_re_screen_and_a_correction_supersedes(review: RunningReview) -> None:
    fid = finding_id(review, "demo-001", "HT.territory")
    review.client("hana").act(
        f"/findings/{fid}/status", {"status": "confirmed", "rationale": "Seen in port records."}
    )
    demo_001 = [r for r in records() if r["record_id"] == "demo-001"]
    asyncio.run(store_findings(review.database_url, demo_001))  # redelivered, screened again
    assert state(review, fid)[0] == "confirmed"
    corrected = copy.deepcopy(demo_001[0])
    for party in corrected["parties"][1:]:
        party["name"] = "Caribbean Import Services Holding SA"
    asyncio.run(store_findings(review.database_url, [corrected]))
    assert state(review, fid)[0] == "confirmed"
    page = review.client("hana").get(f"/findings/{fid}")
    assert "Superseded" in page.text
    assert "a corrected re-send of the record no longer yields it" in page.text
    queue = review.client("hana").get("/api/v1/findings?superseded=only").json()["findings"]
    assert fid in [f["id"] for f in queue]


def test_the_api_is_documented_behind_sign_in(review: RunningReview) -> None:
    assert review.client().get("/api/v1/openapi.json").status_code == 401
    hana = review.client("hana")
    schema = hana.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/findings",
        "/api/v1/findings/{finding_id}/status",
        "/api/v1/findings/bulk",
    } <= (set(schema["paths"]))
    page = hana.get("/api")
    assert page.status_code == 200
    assert "POST /api/v1/findings/{finding_id}/status" in page.text
    assert "StatusChange" in page.text
