"""A finding's page and its JSON, over HTTP against the running workspace: the whole
explanation, the transfer, the other findings and related transfers, all scoped."""

from __future__ import annotations

import pytest

from tests.integration.review_app import RunningReview, review, review_database
from tests.review_data import HTML_NAME

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures


def finding_id(review: RunningReview, record_id: str, rule_id: str) -> int:
    rows = review.sql(
        "SELECT id FROM findings WHERE record_id = %s AND rule_id = %s", record_id, rule_id
    )
    assert len(rows) == 1, rows
    return int(rows[0][0])


def test_a_violation_s_page_explains_it_and_shows_the_transfer(review: RunningReview) -> None:
    fid = finding_id(review, "demo-001", "HT.territory")
    page = review.client("hana").get(f"/findings/{fid}")
    assert page.status_code == 200
    text = page.text
    assert "falls under the territory-wide arms embargo on Haiti" in text
    assert 'href="https://undocs.org/S/RES/2752(2024)"' in text
    assert "HT-2752-all-arms-territorial" in text
    assert "Exemptions considered" in text
    assert "this end user is company: not covered" in text
    assert "Caribbean Import Services SA" in text  # the parties
    assert "Revolvers and self-loading pistols" in text  # the items, by label
    assert "US → DO → HT" in text  # the route
    assert "indicator.organised_crime" in text  # the other finding on the transfer
    # Other transfers with the same exporter, but not the Libyan one.
    assert "demo / demo-003" in text
    assert "ly-001" not in text


def test_a_designated_finding_shows_the_list_entry_and_the_score(review: RunningReview) -> None:
    fid = finding_id(review, "des-001", "HT.designated.receiving")
    body = review.client("hana").get(f"/api/v1/findings/{fid}").json()
    designated = body["finding"]["designated"]
    assert designated["reference_number"] == "HTi.001"
    entry = body["listed"]["HTi.001"]
    assert entry["name"] == "JIMMY CHERIZIER"
    assert entry["listed_on"] == "2022-10-21"
    assert any(a["name"] == "BARBEQUE" for a in entry["aliases"])
    features = body["finding"]["evidence"]["features"]
    assert features[0][0] == "name_similarity"
    page = review.client("hana").get(f"/findings/{fid}").text
    assert "BARBEQUE" in page
    assert "name_similarity" in page
    assert "threshold 0.88" in page


def test_another_regime_s_finding_is_not_found_by_url_or_api(review: RunningReview) -> None:
    libyan = finding_id(review, "ly-001", "LY.territory")
    haiti = review.client("hana")
    page, absent = haiti.get(f"/findings/{libyan}"), haiti.get("/findings/987654321")
    assert page.status_code == absent.status_code == 404
    assert page.text == absent.text
    api, api_absent = haiti.get(f"/api/v1/findings/{libyan}"), haiti.get("/api/v1/findings/9876")
    assert api.status_code == api_absent.status_code == 404
    assert api.json() == api_absent.json()
    assert haiti.get("/findings/99999999999999999999").status_code == 404
    assert haiti.get("/api/v1/findings/99999999999999999999").status_code == 404
    # The Libya reviewer sees it, and none of the Haitian transfers sharing its exporter.
    body = review.client("lyle").get(f"/api/v1/findings/{libyan}").json()
    assert body["transfer"]["record_id"] == "ly-001"
    assert body["related"] == []
    assert review.client("root").get(f"/api/v1/findings/{libyan}").json()["related"]


def test_a_party_name_with_html_is_shown_as_text(review: RunningReview) -> None:
    fid = finding_id(review, "html-001", "HT.territory")
    page = review.client("hana").get(f"/findings/{fid}")
    assert page.status_code == 200
    assert HTML_NAME not in page.text
    assert "<script>alert" not in page.text
    assert "<b>Bold</b>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in page.text
    assert (
        review.client("hana")
        .get(f"/api/v1/findings/{fid}")
        .json()["transfer"]["record"]["parties"][1]["name"]
        == HTML_NAME
    )
