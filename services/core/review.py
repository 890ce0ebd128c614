"""Reviewing findings: who may do what, and how a finding's status may move.

``open → under_review → confirmed | dismissed | referred`` (referred to the Committee).
A decision needs a rationale; a decided finding moves again only when a lead reopens
it, with a reason. Pure rules: the store applies them, the workspace asks them.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    REFERRED = "referred"

    @property
    def decided(self) -> bool:
        return self in DECIDED

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


DECIDED = frozenset({Status.CONFIRMED, Status.DISMISSED, Status.REFERRED})

STATUS_LABELS = {
    Status.OPEN: "open",
    Status.UNDER_REVIEW: "under review",
    Status.CONFIRMED: "confirmed",
    Status.DISMISSED: "dismissed",
    Status.REFERRED: "referred to the Committee",
}


class Role(StrEnum):
    #: Works the findings of their regimes.
    REVIEWER = "reviewer"
    #: A reviewer who also assigns, reopens decided findings and sees the audit log.
    LEAD = "lead"
    #: Reads everything in their regimes and the audit log; changes nothing.
    AUDITOR = "auditor"
    #: Manages users; sees every regime; decides nothing.
    ADMIN = "admin"


class Act(StrEnum):
    REVIEW = "review"  # change a status, comment
    ASSIGN = "assign"  # assign a finding to anyone of its regime
    REOPEN = "reopen"
    AUDIT = "audit"  # read the whole audit log
    MANAGE_USERS = "manage_users"


MAY: dict[Role, frozenset[Act]] = {
    Role.REVIEWER: frozenset({Act.REVIEW}),
    Role.LEAD: frozenset({Act.REVIEW, Act.ASSIGN, Act.REOPEN, Act.AUDIT}),
    Role.AUDITOR: frozenset({Act.AUDIT}),
    Role.ADMIN: frozenset({Act.AUDIT, Act.MANAGE_USERS}),
}


def may(role: Role, act: Act) -> bool:
    return act in MAY[role]


def sees_all_regimes(role: Role) -> bool:
    return role is Role.ADMIN


#: Statuses a reviewer may move a finding to, from each status (reopening aside).
MOVES: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.UNDER_REVIEW, *DECIDED}),
    Status.UNDER_REVIEW: frozenset({Status.OPEN, *DECIDED}),
    Status.CONFIRMED: frozenset(),
    Status.DISMISSED: frozenset(),
    Status.REFERRED: frozenset(),
}

#: Where a reopened finding goes: back to the queue, its assignee kept.
REOPENED = Status.OPEN

MAX_RATIONALE_CHARS = 10_000


class ReviewRefused(ValueError):
    """An act the rules do not allow; the message says why, in words for the reviewer."""


def check_move(role: Role, current: Status, target: Status, rationale: str) -> None:
    """Raise :class:`ReviewRefused` unless ``role`` may move a finding from ``current`` to
    ``target`` with ``rationale``."""
    if not may(role, Act.REVIEW):
        raise ReviewRefused(f"a {role.value} does not change findings")
    if target == current:
        raise ReviewRefused(f"the finding is already {current.label}")
    if current.decided:
        raise ReviewRefused(f"the finding was decided ({current.label}); only a lead can reopen it")
    if target not in MOVES[current]:
        raise ReviewRefused(f"a finding {current.label} cannot become {target.label}")
    check_rationale(rationale, required=target.decided)


def check_reopen(role: Role, current: Status, reason: str) -> None:
    if not may(role, Act.REOPEN):
        raise ReviewRefused("only a lead can reopen a decided finding")
    if not current.decided:
        raise ReviewRefused(f"the finding is {current.label}, not decided")
    check_rationale(reason, required=True)


def check_rationale(text: str, *, required: bool) -> None:
    if required and not text.strip():
        raise ReviewRefused("a rationale is required")
    if len(text) > MAX_RATIONALE_CHARS:
        raise ReviewRefused(f"the rationale is longer than {MAX_RATIONALE_CHARS} characters")


def can_be_assigned(role: Role) -> bool:
    """Whether findings may be assigned to a user of ``role``."""
    return role in (Role.REVIEWER, Role.LEAD)
