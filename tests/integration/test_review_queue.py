"""The review queue over HTTP against the running workspace: scoped to the user's regimes,
filtered, sorted and paged as the URL says, and deaf to SQL in its parameters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.review_app import RunningReview, review, review_database
from tests.review_data import HTML_NAME

pytestmark = pytest.mark.integration
__all__ = ["review", "review_database"]  # fixtures


def api(review: RunningReview, name: str, query: str = "") -> dict[str, Any]:
    response = review.client(name).get("/api/v1/findings" + query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def record_ids(body: dict[str, Any]) -> set[str]:
    return {f["transfer"]["record_id"] for f in body["findings"]}


def test_a_reviewer_sees_the_findings_of_their_regimes_only(review: RunningReview) -> None:
    haiti = api(review, "hana", "?limit=500")
    libya = api(review, "lyle", "?limit=500")
    everything = api(review, "root", "?limit=500")
    assert "ly-001" not in record_ids(haiti)
    assert record_ids(libya) == {"ly-001"}
    assert record_ids(everything) == record_ids(haiti) | {"ly-001"}
    assert haiti["total"] == len(haiti["findings"]) == sum(haiti["counts"].values())
    assert haiti["counts"]["open"] == haiti["total"]
    # Asking for another regime's findings is not an error, and shows nothing.
    assert api(review, "hana", "?regime=LY")["findings"] == []


def test_the_filters(review: RunningReview) -> None:
    violations = api(review, "hana", "?kind=violation&limit=500")["findings"]
    assert violations
    assert {f["kind"] for f in violations} == {"violation"}
    high = api(review, "hana", "?severity=high&severity=medium&limit=500")["findings"]
    assert {f["severity"] for f in high} <= {"high", "medium"}
    # Accent- and case-insensitive, any party of the transfer.
    assert record_ids(api(review, "hana", "?party=CHERIZIER")) == {"des-001"}
    assert record_ids(api(review, "hana", "?party=securite%20plus")) == {"demo-006"}
    assert record_ids(api(review, "hana", "?party=gulf%20coast&limit=500")) >= {
        "demo-001",
        "des-001",
    }
    # A parent category matches its children; armoured vehicles are UN Register II.
    assert record_ids(api(review, "hana", "?category=unroca")) == {"demo-006"}
    assert "demo-006" not in record_ids(api(review, "hana", "?category=small_arms&limit=500"))
    dated = api(review, "hana", "?from=2023-11-01&to=2023-11-30&limit=500")
    assert record_ids(dated) == {"demo-004"}
    assert api(review, "hana", "?status=confirmed")["findings"] == []
    assert (
        api(review, "hana", "?assignee=none&limit=500")["total"]
        == api(review, "hana", "?limit=500")["total"]
    )


def test_sorts_and_pages_cover_every_finding_once(review: RunningReview) -> None:
    for sort in ("-created", "created", "-transfer_date", "transfer_date", "severity"):
        whole = api(review, "hana", f"?sort={sort}&limit=500")["findings"]
        seen: list[int] = []
        cursor = None
        while True:
            body = api(
                review, "hana", f"?sort={sort}&limit=3" + (f"&after={cursor}" if cursor else "")
            )
            seen += [f["id"] for f in body["findings"]]
            cursor = body["next"]
            if cursor is None:
                break
        assert seen == [f["id"] for f in whole], sort
    by_severity = api(review, "hana", "?sort=severity&limit=500")["findings"]
    ranks = [{"high": 0, "medium": 1, "low": 2}[f["severity"]] for f in by_severity]
    assert ranks == sorted(ranks)
    by_date = api(review, "hana", "?sort=transfer_date&limit=500")["findings"]
    dates = [f["transfer"]["transfer_date"] for f in by_date]
    assert dates == sorted(dates)


INJECTIONS = [
    ("sort", "id; DROP TABLE findings"),
    ("sort", "-created, (SELECT pg_sleep(5))"),
    ("kind", "violation' OR '1'='1"),
    ("status", "open) OR (1=1"),
    ("regime", "HT' OR 1=1 --"),
    ("regime", "LY"),
    ("category", "small_arms'; DELETE FROM findings; --"),
    ("from", "2024-01-01' OR '1'='1"),
    ("limit", "1; DROP TABLE users"),
    ("after", "WyItY3JlYXRlZCIsIjEgT1IgMT0xIl0"),  # ["-created","1 OR 1=1"]
    ("after", "' OR 1=1 --"),
    ("assignee", "x' OR '1'='1"),
    ("party", "%' OR 1=1 --"),
    ("party", "'; DROP TABLE findings; --"),
    ("party", "%"),
    ("party", "_"),
    ("1=1) OR (1", "x"),
]


@pytest.mark.parametrize(("name", "value"), INJECTIONS)
def test_sql_in_a_filter_or_sort_parameter_is_refused_or_finds_nothing(
    review: RunningReview, name: str, value: str
) -> None:
    before = review.sql("SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM users)")
    client = review.client("hana")
    for path in ("/api/v1/findings", "/findings"):
        response = client.get(path, params={name: value})
        assert response.status_code in (200, 400), (path, response.status_code)
        if response.status_code == 200 and path.startswith("/api"):
            assert response.json()["findings"] == [], (name, value)
    assert review.sql("SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM users)") == (
        before
    )


def test_the_queue_page_holds_its_filter_and_shows_names_as_text(review: RunningReview) -> None:
    client = review.client("hana")
    page = client.get("/findings?kind=violation&party=bold&sort=severity")
    assert page.status_code == 200
    assert 'value="violation" checked' in page.text
    assert 'value="bold"' in page.text
    assert '<option value="severity" selected>' in page.text
    assert HTML_NAME not in page.text
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Bold&lt;/b&gt;" in page.text
    assert "ly-001" not in page.text
    bad = client.get("/findings?sort=sideways")
    assert bad.status_code == 400
    assert "sort" in bad.text


def test_a_finding_s_page_links_back_to_the_queue_view_it_was_opened_from(
    review: RunningReview,
) -> None:
    client = review.client("hana")
    (finding_id,) = review.sql(
        "SELECT min(id) FROM findings WHERE regime = 'HT' AND kind = 'violation'"
    )[0]
    assert 'href="/findings">« queue' in client.get(f"/findings/{finding_id}").text
    client.get("/findings?kind=violation&sort=severity")
    page = client.get(f"/findings/{finding_id}").text
    assert 'href="/findings?kind=violation&amp;sort=severity">« queue' in page
