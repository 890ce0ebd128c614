"""How a finding's status may move, and who may move it (services/core/review.py)."""

from __future__ import annotations

import pytest

from services.core.review import (
    DECIDED,
    Act,
    ReviewRefused,
    Role,
    Status,
    can_be_assigned,
    check_move,
    check_reopen,
    may,
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
