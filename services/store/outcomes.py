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
from services.core.transfers import Transfer
from services.core.validation import Rejection
from services.store.rejections import RejectionKind


@dataclass(frozen=True, slots=True)
class Delivery:
    """Where a record came from: the integrator and, if any, its Kafka position."""

    integrator: str
    received_at: datetime
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class Screening:
    """One screened record, ready to keep."""

    record: dict[str, Any]
    findings: Sequence[Finding]
    delivery: Delivery
    #: The record as screened, when the caller has it: spares the store parsing it again.
    transfer: Transfer | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.delivery.integrator, self.record["record_id"])


@dataclass(frozen=True, slots=True)
class Refusal:
    """A message the matcher could not screen, to keep as rejected with its reason."""

    integrator: str
    rejection: Rejection
    kind: RejectionKind
    #: The record's content digest when it was one, so the ledger can settle it.
    record_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Versions:
    """What a batch was screened with."""

    ruleset: int
    sanctions_list: str | None


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
    """Keeps outcomes durably: each call is one transaction, done when it returns."""

    async def record_batch(
        self, screenings: Sequence[Screening], refusals: Sequence[Refusal], versions: Versions
    ) -> list[Stored | None]:
        """Keep one transfer per (integrator, record_id) with one row per distinct finding,
        and each refusal once per distinct payload; settle their ledger rows.

        Idempotent, so a redelivered batch may be stored again. Returns, per screening,
        what was stored, or None where newer content of the record was accepted since
        (the late, older version is not kept). A corrected re-send replaces the record
        and supersedes the findings it no longer yields. Raises
        :class:`StoreUnavailable` while the store is unreachable and
        :class:`ContentRefused` when it refuses some content for good (the caller then
        stores the batch a record at a time to find which); any other error is a
        lasting fault (a schema behind the code, say).
        """
        ...
