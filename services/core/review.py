"""Reviewing findings: who may do what, and how a finding's status may move.

``open → under_review → confirmed | dismissed | referred`` (referred to the Committee).
A decision needs a rationale; a decided finding moves again only when a lead reopens
it, with a reason. Pure rules: the store applies them, the workspace asks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from services.core.findings import Kind, Severity
from services.core.name_normalisation import fold

E = TypeVar("E", bound=StrEnum)


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
    ACTIVATE_RULES = "activate_rules"  # choose the ruleset version the matchers screen with


MAY: dict[Role, frozenset[Act]] = {
    Role.REVIEWER: frozenset({Act.REVIEW}),
    Role.LEAD: frozenset({Act.REVIEW, Act.ASSIGN, Act.REOPEN, Act.AUDIT}),
    Role.AUDITOR: frozenset({Act.AUDIT}),
    Role.ADMIN: frozenset({Act.AUDIT, Act.MANAGE_USERS, Act.ACTIVATE_RULES}),
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


# --- The queue's filter: what the URL holds ------------------------------------------------


class Sort(StrEnum):
    NEWEST = "-created"
    OLDEST = "created"
    TRANSFER_DATE_DESC = "-transfer_date"
    TRANSFER_DATE = "transfer_date"
    #: High first, the oldest first within a severity: the order to work a backlog in.
    SEVERITY = "severity"


class Superseded(StrEnum):
    HIDE = "hide"
    INCLUDE = "include"
    ONLY = "only"


UNASSIGNED = "none"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_TEXT_CHARS = 200
_REGIME = re.compile(r"[A-Z]{2}")
_CATEGORY = re.compile(r"[a-z][a-z0-9_]*(\.[A-Za-z0-9_()]+)*")


class FilterError(ValueError):
    """A query parameter that cannot be read; the message names it (an HTTP 400)."""


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which findings the queue shows, in which order: parsed from and written back to the
    URL's query string, so a view can be bookmarked and shared."""

    regimes: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    severities: tuple[Severity, ...] = ()
    statuses: tuple[Status, ...] = ()
    #: A user name, or ``none`` for unassigned findings.
    assignee: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: An item category or a parent of one (``small_arms``).
    category: str | None = None
    #: A substring of any party's name, matched without regard to case or accents.
    party: str | None = None
    superseded: Superseded = Superseded.HIDE
    sort: Sort = Sort.NEWEST
    limit: int = DEFAULT_LIMIT
    #: Where the previous page ended (opaque; from :attr:`QueuePage.next_cursor`).
    after: str | None = None

    def query(self, *, after: str | None = None, **changes: Any) -> list[tuple[str, str]]:
        """The query-string pairs of this filter (defaults left out), with ``changes``."""
        f = replace(self, after=after, **changes)
        pairs: list[tuple[str, str]] = []
        pairs += [("regime", r) for r in f.regimes]
        pairs += [("kind", k.value) for k in f.kinds]
        pairs += [("severity", s.value) for s in f.severities]
        pairs += [("status", s.value) for s in f.statuses]
        for name, value in (
            ("assignee", f.assignee),
            ("from", f.date_from.isoformat() if f.date_from else None),
            ("to", f.date_to.isoformat() if f.date_to else None),
            ("category", f.category),
            ("party", f.party),
        ):
            if value:
                pairs.append((name, value))
        if f.superseded is not Superseded.HIDE:
            pairs.append(("superseded", f.superseded.value))
        if f.sort is not Sort.NEWEST:
            pairs.append(("sort", f.sort.value))
        if f.limit != DEFAULT_LIMIT:
            pairs.append(("limit", str(f.limit)))
        if f.after:
            pairs.append(("after", f.after))
        return pairs


FILTER_PARAMS = frozenset(
    {"regime", "kind", "severity", "status", "assignee", "from", "to", "category", "party"}
    | {"superseded", "sort", "limit", "after"}
)


def _choices(name: str, values: Sequence[str], enum: type[E]) -> tuple[E, ...]:
    out = []
    for v in values:
        if not v:
            continue
        try:
            out.append(enum(v))
        except ValueError:
            allowed = ", ".join(m.value for m in enum)
            raise FilterError(f"{name}: {v[:40]!r} is not one of {allowed}") from None
    return tuple(dict.fromkeys(out))


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v for v in params.get(name, ()) if v.strip()]
    if len(values) > 1:
        raise FilterError(f"{name}: give it once")
    if values and len(values[0]) > MAX_TEXT_CHARS:
        raise FilterError(f"{name}: longer than {MAX_TEXT_CHARS} characters")
    return values[0].strip() if values else None


def _date(params: Mapping[str, Sequence[str]], name: str) -> date | None:
    value = _one(params, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: {value[:40]!r} is not a date (YYYY-MM-DD)") from None


def parse_filter(params: Mapping[str, Sequence[str]], *, ignore: Iterable[str] = ()) -> QueueFilter:
    """Read a :class:`QueueFilter` from query parameters (each name to its values);
    :class:`FilterError` names the first one that cannot be read. Parameters in
    ``ignore`` (a page's own, such as ``format``) are skipped; any other unknown one is an
    error, so a mistyped filter never silently shows everything."""
    unknown = sorted(set(params) - FILTER_PARAMS - set(ignore))
    if unknown:
        raise FilterError(f"unknown parameter {unknown[0][:40]!r}")
    regimes = tuple(dict.fromkeys(r.strip().upper() for r in params.get("regime", ()) if r.strip()))
    bad = [r for r in regimes if not _REGIME.fullmatch(r)]
    if bad:
        raise FilterError(f"regime: {bad[0][:40]!r} is not a regime id such as HT")
    category = _one(params, "category")
    if category is not None and not _CATEGORY.fullmatch(category):
        raise FilterError(f"category: {category[:40]!r} is not an item category")
    limit_text = _one(params, "limit")
    try:
        limit = int(limit_text) if limit_text else DEFAULT_LIMIT
    except ValueError:
        raise FilterError("limit: not a number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError(f"limit: between 1 and {MAX_LIMIT}")
    party = _one(params, "party")
    if party is not None and not fold(party):
        raise FilterError("party: give some letters or digits of a name")
    date_from, date_to = _date(params, "from"), _date(params, "to")
    if date_from and date_to and date_from > date_to:
        raise FilterError("from: after to")
    superseded = _choices("superseded", [_one(params, "superseded") or "hide"], Superseded)
    sort = _choices("sort", [_one(params, "sort") or Sort.NEWEST.value], Sort)
    return QueueFilter(
        regimes=regimes,
        kinds=_choices("kind", params.get("kind", ()), Kind),
        severities=_choices("severity", params.get("severity", ()), Severity),
        statuses=_choices("status", params.get("status", ()), Status),
        assignee=_one(params, "assignee"),
        date_from=date_from,
        date_to=date_to,
        category=category,
        party=party,
        superseded=superseded[0],
        sort=sort[0],
        limit=limit,
        after=_one(params, "after"),
    )
