"""What the review pages are drawn with: citation links, the monthly chart, CSV cells."""

from __future__ import annotations

from datetime import date

import pytest

from services.review.charts import HEIGHT, monthly_bars
from services.review.exports import csv_cell
from services.review.views import citation_url, content_changes, safe_next


@pytest.mark.parametrize(
    ("citation", "url"),
    [
        ("S/RES/2752 (2024), para 2", "https://undocs.org/S/RES/2752(2024)"),
        ("S/RES/2699 (2023), paras 14 (a), 14 (b)", "https://undocs.org/S/RES/2699(2023)"),
        ("S/RES/1970(2011)", "https://undocs.org/S/RES/1970(2011)"),
        ("S/2023/674", "https://undocs.org/S/2023/674"),
        ("UNODC, Haiti's criminal markets (March 2023)", None),
        ("Arms Trade Treaty, art. 7(4)", None),
    ],
)
def test_a_citation_links_to_its_un_document(citation: str, url: str | None) -> None:
    assert citation_url(citation) == url


def test_every_month_between_the_first_and_the_last_gets_a_bar() -> None:
    chart = monthly_bars(
        [
            (date(2024, 11, 1), "violation", 3),
            (date(2024, 11, 1), "indicator", 1),
            (date(2025, 2, 1), "indicator", 2),
        ]
    )
    assert not chart.empty
    assert [t.text for t in chart.x_labels] == ["2024-11", "2024-12", "2025-01", "2025-02"]
    november = [b for b in chart.bars if b.title.startswith("2024-11")]
    assert [b.title for b in november] == ["2024-11: 3 violations", "2024-11: 1 indicator"]
    # Stacked: the indicator sits on the violations, the tallest bar reaches the top.
    assert november[1].y + november[1].height == pytest.approx(november[0].y, abs=0.2)
    assert min(b.y for b in chart.bars) >= 0
    assert max(b.y + b.height for b in chart.bars) <= HEIGHT
    assert monthly_bars([]).empty


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Caribbean Import Services SA", "Caribbean Import Services SA"),
        (["S/RES/2752 (2024), para 2", "S/2023/674"], "S/RES/2752 (2024), para 2; S/2023/674"),
        (None, ""),
        (0.97, "0.97"),
    ],
)
def test_a_csv_cell_never_reads_as_a_formula(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/findings/3", "/findings/3"),
        ("//evil.example/", "/findings"),
        ("https://evil.example/", "/findings"),
        ("/\\evil.example", "/findings"),
        (None, "/findings"),
    ],
)
def test_after_sign_in_only_a_local_path_is_followed(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


def test_a_change_of_content_is_shown_field_by_field() -> None:
    before = {
        "severity": "medium",
        "citations": ["S/RES/2752 (2024), para 2"],
        "visible_regimes": ["HT"],
        "status": "confirmed",
    }
    after = {"severity": "high", "citations": [], "visible_regimes": [], "status": "open"}
    assert content_changes(before, after) == [
        ("severity", "medium", "high"),
        ("citations", "S/RES/2752 (2024), para 2", "none"),
        ("seen by", "HT", "admins only"),
    ]
    assert content_changes(None, None) == []
