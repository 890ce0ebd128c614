"""What the matcher keeps for each record it reads: a screening, or a rejection.

:class:`ScreeningStore` is the narrow interface the matcher writes through;
:class:`~services.store.postgres.PostgresStore` is the real one and
:class:`~services.store.memory.MemoryStore` the one unit tests use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.core.findings import Finding
from services.core.validation import Rejection


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a record came from: the integrator and, if any, its Kafka position."""

    integrator: str
    received_at: datetime
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    transfer_id: int
    new_findings: int
    revised: bool


class StoreUnavailable(Exception):
    """The store cannot be reached now; the same call may be retried safely."""


class ContentRefused(Exception):
    """The store will never hold this content; the message is the reason to give."""


class ScreeningStore(Protocol):
    """Keeps outcomes durably: each call is one transaction, done when it returns.

    Both calls are idempotent, so a redelivered record may be stored again.
    They raise :class:`StoreUnavailable` while the store is unreachable and
    :class:`ContentRefused` when it refuses the content for good; any other
    error is a lasting fault (a schema behind the code, say).
    """

    async def record_screening(
        self,
        record: dict[str, Any],
        findings: Sequence[Finding],
        delivery: Delivery,
        *,
        ruleset_version: int,
        list_version: str | None,
    ) -> Stored:
        """Keep one transfer per (integrator, record_id) and one row per distinct finding.

        A corrected re-send (same record_id, other content) replaces the record and
        supersedes the findings it no longer yields.
        """
        ...

    async def record_rejections(
        self, integrator: str, rejections: Sequence[Rejection], source: str
    ) -> None:
        """Keep each rejection once per distinct payload; a payload seen before only
        bumps its count and takes the new reasons."""
        ...
