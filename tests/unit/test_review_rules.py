"""How a finding's status may move, who may move it, and the queue's filter
(services/core/review.py)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from services.core.findings import Kind, Severity
from services.core.review import (
    DECIDED,
    Act,
    FilterError,
    QueueFilter,
    ReviewRefused,
    Role,
    Sort,
    Status,
    Superseded,
    can_be_assigned,
    check_move,
    check_reopen,
    may,
    parse_filter,
)


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.LEAD])
def test_a_reviewer_takes_an_open_finding_and_decides_it(role: Role) -> None:
    check_move(role, Status.OPEN, Status.UNDER_REVIEW, "")
    for decided in DECIDED:
        check_move(role, Status.UNDER_REVIEW, decided, "the end user is a gang front")
        check_move(role, Status.OPEN, decided, "a duplicate of finding 12")


@pytest.mark.parametrize("decided", sorted(DECIDED))
def test_a_decision_needs_a_rationale(decided: Status) -> None:
    with pytest.raises(ReviewRefused, match="rationale is required"):
        check_move(Role.REVIEWER, Status.UNDER_REVIEW, decided, "  \n")


def test_taking_a_finding_needs_no_rationale_but_a_long_one_is_refused() -> None:
    check_move(Role.REVIEWER, Status.OPEN, Status.UNDER_REVIEW, "")
    with pytest.raises(ReviewRefused, match="longer than"):
        check_move(Role.REVIEWER, Status.OPEN, Status.UNDER_REVIEW, "x" * 10_001)


@pytest.mark.parametrize("decided", sorted(DECIDED))
@pytest.mark.parametrize("target", list(Status))
def test_a_decided_finding_moves_only_by_reopening(decided: Status, target: Status) -> None:
    with pytest.raises(ReviewRefused):
        check_move(Role.LEAD, decided, target, "changed my mind")


def test_only_a_lead_reopens_and_only_with_a_reason() -> None:
    check_reopen(Role.LEAD, Status.DISMISSED, "the Panel found the certificate forged")
    with pytest.raises(ReviewRefused, match="only a lead"):
        check_reopen(Role.REVIEWER, Status.DISMISSED, "please")
    with pytest.raises(ReviewRefused, match="rationale is required"):
        check_reopen(Role.LEAD, Status.CONFIRMED, "")
    with pytest.raises(ReviewRefused, match="not decided"):
        check_reopen(Role.LEAD, Status.OPEN, "why")


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditors_and_admins_change_no_finding(role: Role) -> None:
    with pytest.raises(ReviewRefused, match="does not change findings"):
        check_move(role, Status.OPEN, Status.UNDER_REVIEW, "")
    assert not can_be_assigned(role)


def test_the_roles_acts() -> None:
    assert may(Role.LEAD, Act.ASSIGN)
    assert not may(Role.REVIEWER, Act.ASSIGN)
    assert may(Role.AUDITOR, Act.AUDIT)
    assert not may(Role.REVIEWER, Act.AUDIT)
    assert may(Role.ADMIN, Act.MANAGE_USERS)
    assert not may(Role.LEAD, Act.MANAGE_USERS)
    assert not may(Role.ADMIN, Act.REVIEW)


def test_a_filter_round_trips_through_its_query_string() -> None:
    f = QueueFilter(
        regimes=("HT", "LY"),
        kinds=(Kind.VIOLATION,),
        severities=(Severity.HIGH, Severity.MEDIUM),
        statuses=(Status.OPEN, Status.UNDER_REVIEW),
        assignee="none",
        date_from=date(2024, 1, 1),
        date_to=date(2024, 12, 31),
        category="small_arms",
        party="Chérizier",
        superseded=Superseded.INCLUDE,
        sort=Sort.SEVERITY,
        limit=20,
    )
    pairs = f.query()
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    assert parse_filter(params) == f
    assert QueueFilter().query() == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"sort": ["id; DROP TABLE findings"]}, "sort"),
        ({"kind": ["violation' OR '1'='1"]}, "kind"),
        ({"regime": ["HT' --"]}, "regime"),
        ({"category": ["x'; DELETE"]}, "category"),
        ({"limit": ["0"]}, "limit"),
        ({"limit": ["many"]}, "limit"),
        ({"from": ["2024-02-30"]}, "from"),
        ({"from": ["2024-02-02"], "to": ["2024-02-01"]}, "from"),
        ({"party": ["%"]}, "party"),
        ({"party": ["x" * 201]}, "party"),
        ({"sort": ["severity", "created"]}, "sort"),
        ({"regimen": ["HT"]}, "unknown parameter 'regimen'"),
    ],
)
def test_a_filter_that_cannot_be_read_names_its_parameter(
    params: dict[str, list[str]], reason: str
) -> None:
    with pytest.raises(FilterError, match=re.escape(reason)):
        parse_filter(params)


def test_regimes_are_upper_cased_and_blank_values_ignored() -> None:
    f = parse_filter({"regime": ["ht", "HT", ""], "status": [""], "party": ["  "]})
    assert f.regimes == ("HT",)
    assert f.statuses == ()
    assert f.party is None
