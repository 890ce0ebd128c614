"""The relational schema. Alembic migrations in ``migrations/`` create it;
``alembic check`` in the test suite keeps the two from drifting.

Unique keys are what make retries safe: a transfer is one row per
(integrator, record_id), a finding one row per (transfer, finding key), a
rejected record one row per (integrator, sha256 of what was sent).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.core.findings import Kind, Severity
from services.core.review import Role, Status

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


SEVERITY_RANK_SQL = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB, list[Any]: JSONB}


class ScreenedTransfer(Base):
    __tablename__ = "screened_transfers"
    __table_args__ = (
        UniqueConstraint("integrator", "record_id"),
        Index(
            "ix_screened_transfers_party_names",
            "party_names",
            postgresql_using="gin",
            postgresql_ops={"party_names": "gin_trgm_ops"},
        ),
        Index("ix_screened_transfers_party_keys", "party_keys", postgresql_using="gin"),
        Index("ix_screened_transfers_item_categories", "item_categories", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integrator: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(200))
    record: Mapped[dict[str, Any]]
    record_sha256: Mapped[str] = mapped_column(String(64))
    transfer_date: Mapped[date] = mapped_column(Date, index=True)
    origin: Mapped[str] = mapped_column(String(2))
    destination: Mapped[str] = mapped_column(String(2), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    screened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    times_screened: Mapped[int] = mapped_column(Integer, server_default="1")
    ruleset_version: Mapped[int] = mapped_column(Integer)
    list_version: Mapped[str | None] = mapped_column(String(100))
    kafka_topic: Mapped[str | None] = mapped_column(String(255))
    kafka_partition: Mapped[int | None] = mapped_column(Integer)
    kafka_offset: Mapped[int | None] = mapped_column(BigInteger)
    #: What the review workspace searches (services.core.visibility): the party names
    #: folded, the parties' normalised names, the item categories with their parents.
    party_names: Mapped[str] = mapped_column(Text, server_default="")
    party_keys: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    item_categories: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")

    findings: Mapped[list[FindingRow]] = relationship(back_populates="transfer")


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("transfer_id", "finding_key"),
        Index("ix_findings_regime_kind", "regime", "kind"),
        Index(
            "ix_findings_pattern_group",
            "pattern_group",
            "pattern_anchor",
            postgresql_where=text("pattern_group IS NOT NULL"),
        ),
        # The review queue (services/store/review.py). A user's scope is ``regime IN (…)``
        # for regime findings, ``visible_regimes && …`` for the regime-less rest.
        Index(
            "ix_findings_visible_regimes",
            "visible_regimes",
            postgresql_using="gin",
            postgresql_where=text("regime IS NULL"),
        ),
        Index("ix_findings_status_id", "status", "id"),
        Index("ix_findings_regime_status_id", "regime", "status", "id"),
        # Counts by status of what is in force, from the index alone.
        Index(
            "ix_findings_live_regime_status",
            "regime",
            "status",
            postgresql_include=["kind", "severity"],
            postgresql_where=text("superseded_at IS NULL"),
        ),
        # ... and for the regime-less ones, from this one alone (their scope is tested on
        # the included array).
        Index(
            "ix_findings_live_regime_less_status",
            "status",
            postgresql_include=["visible_regimes", "kind", "severity"],
            postgresql_where=text("regime IS NULL AND superseded_at IS NULL"),
        ),
        # The queue sorted by severity: high, medium, low, then the oldest first.
        Index("ix_findings_severity_rank_id", "severity_rank", "id"),
        Index(
            "ix_findings_assignee_status",
            "assignee_id",
            "status",
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("screened_transfers.id", ondelete="CASCADE")
    )
    finding_key: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[Kind] = mapped_column(_enum(Kind, "finding_kind"))
    regime: Mapped[str | None] = mapped_column(String(8))
    rule_id: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "finding_severity"))
    #: 0 high, 1 medium, 2 low: the queue's severity order.
    severity_rank: Mapped[int] = mapped_column(
        SmallInteger, Computed(SEVERITY_RANK_SQL, persisted=True)
    )
    summary: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any]]
    party: Mapped[dict[str, Any] | None]
    designated: Mapped[dict[str, Any] | None]
    evidence: Mapped[dict[str, Any]]
    ruleset_version: Mapped[int] = mapped_column(Integer)
    list_version: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: Set when a corrected re-send or a re-screen no longer yields this finding.
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    superseded_reason: Mapped[str | None] = mapped_column(Text)
    #: A finding on a set of transfers (services/core/patterns): what its pattern's findings
    #: for one receiver or certificate are filed under, and the day that anchors its set.
    pattern_group: Mapped[str | None] = mapped_column(String(64))
    pattern_anchor: Mapped[date | None] = mapped_column(Date)
    #: Review state: kept across re-screens and re-sends, the row being stable per key.
    status: Mapped[Status] = mapped_column(_enum(Status, "review_status"), server_default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The regimes whose staff see it (services.core.visibility); empty: admins only.
    visible_regimes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")

    transfer: Mapped[ScreenedTransfer] = relationship(back_populates="findings")


class FindingCount(Base):
    """How many findings there are per key, kept by statement triggers on ``findings``
    (migration 0007): each statement appends its net change, so writers never wait on one
    another; ``services.store.review.compact_counts`` folds them into one row per key. The
    queue's counts by status sum these rows instead of counting findings."""

    __tablename__ = "finding_counts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    regime: Mapped[str | None] = mapped_column(String(8))
    visible_regimes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    superseded: Mapped[bool] = mapped_column(Boolean)
    n: Mapped[int] = mapped_column(BigInteger)


class PatternTransfer(Base):
    """What the diversion patterns read from one screened transfer
    (``services.core.patterns.TransferFacts``), kept so that related transfers are decided
    on without parsing their records again. Only transfers with a look-up key have one."""

    __tablename__ = "pattern_transfers"

    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("screened_transfers.id", ondelete="CASCADE"), primary_key=True
    )
    facts: Mapped[dict[str, Any]]


class PatternKey(Base):
    """How related transfers find each other: a receiver's or a certificate's key, by date.

    Written and read under a transaction-scoped advisory lock on the key
    (``services/store/patterns.py``), so two workers never decide one key at once.
    """

    __tablename__ = "pattern_keys"
    __table_args__ = (Index("ix_pattern_keys_lookup", "family", "key", "transfer_date"),)

    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("screened_transfers.id", ondelete="CASCADE"), primary_key=True
    )
    family: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    transfer_date: Mapped[date] = mapped_column(Date)


class RejectedRecord(Base):
    __tablename__ = "rejected_records"
    __table_args__ = (UniqueConstraint("integrator", "raw_sha256"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integrator: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str | None] = mapped_column(String(200), index=True)
    raw: Mapped[str] = mapped_column(Text)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[Any]]
    source: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    times_seen: Mapped[int] = mapped_column(Integer, server_default="1")
    #: schema | malformed_json | body | malformed | error | refused (see services.store.rejections).
    reason_kind: Mapped[str] = mapped_column(String(32), server_default="schema", index=True)
    #: When an operator last sent it to be screened again (``ewatch rejected replay``).
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    times_replayed: Mapped[int] = mapped_column(Integer, server_default="0")


class AcceptedRecord(Base):
    """The ledger: every record ingest said ``accepted`` for, until the matcher settles it.

    Written in the same step as the publish to Kafka, so a record the broker lost (a crash,
    the embedded broker's memory storage) is still here for the reconciler to publish again.
    One row per (integrator, record_id); a corrected re-send replaces it and is pending again.
    """

    __tablename__ = "accepted_records"
    __table_args__ = (
        UniqueConstraint("integrator", "record_id"),
        Index(
            "ix_accepted_records_pending",
            "received_at",
            postgresql_where=text("settled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    integrator: Mapped[str] = mapped_column(String(200))
    record_id: Mapped[str] = mapped_column(String(200))
    record: Mapped[dict[str, Any]]
    record_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When it was last published (by ingest, or again by the reconciler).
    published_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    times_published: Mapped[int] = mapped_column(Integer, server_default="1")
    #: When the matcher stored its outcome for this content; NULL while pending.
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: screened | rejected, once settled.
    outcome: Mapped[str | None] = mapped_column(String(16))


class RulesetVersion(Base):
    """One immutable, numbered version of the rules table; exactly one is active."""

    __tablename__ = "ruleset_versions"
    __table_args__ = (
        Index(
            "uq_ruleset_versions_one_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
        ),
    )

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The validated YAML documents, keyed by file name, as loaded.
    documents: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    active: Mapped[bool] = mapped_column(Boolean, server_default="false")
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SanctionsListVersion(Base):
    """One import of the UN Consolidated List, with what it changed."""

    __tablename__ = "sanctions_list_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    date_generated: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    individuals: Mapped[int] = mapped_column(Integer)
    entities: Mapped[int] = mapped_column(Integer)
    #: What the importer repaired and could not read (services.core.un_xml.ImportReport).
    report: Mapped[dict[str, Any]]
    #: Added, amended and removed reference numbers against the previous version.
    changes: Mapped[dict[str, Any]]
    #: The file as imported: the matcher rebuilds its index from exactly these bytes.
    content: Mapped[bytes] = mapped_column(LargeBinary)

    parties: Mapped[list[ListedPartyRow]] = relationship(back_populates="list_version")


class ListedPartyRow(Base):
    __tablename__ = "listed_parties"
    __table_args__ = (UniqueConstraint("list_version_id", "reference_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    list_version_id: Mapped[int] = mapped_column(
        ForeignKey("sanctions_list_versions.id", ondelete="CASCADE")
    )
    reference_number: Mapped[str] = mapped_column(String(40), index=True)
    data_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    list_type: Mapped[str] = mapped_column(String(40))
    regime: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    name_parts: Mapped[list[Any]]
    original_script: Mapped[str | None] = mapped_column(Text)
    aliases: Mapped[list[Any]]
    listed_on: Mapped[date | None] = mapped_column(Date)
    birth_dates: Mapped[list[Any]]
    places_of_birth: Mapped[list[Any]]
    nationalities: Mapped[list[Any]]
    documents: Mapped[list[Any]]
    addresses: Mapped[list[Any]]
    titles: Mapped[list[Any]]
    designations: Mapped[list[Any]]
    gender: Mapped[str | None] = mapped_column(String(20))
    comments: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))

    list_version: Mapped[SanctionsListVersion] = relationship(back_populates="parties")


class CrsvAnnexVersion(Base):
    """One import of an annex of the Secretary-General's report on conflict-related sexual
    violence; the one of the latest report date (then the latest import) is screened with."""

    __tablename__ = "crsv_annex_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    symbol: Mapped[str] = mapped_column(String(40), index=True)
    report_date: Mapped[date] = mapped_column(Date)
    complete: Mapped[bool] = mapped_column(Boolean)
    parties: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    #: The file as imported: the matcher rebuilds the annex from exactly these bytes.
    content: Mapped[bytes] = mapped_column(LargeBinary)


# The review workspace: its people, their sessions and tokens, comments and the audit log.


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: argon2id, in the PHC string form argon2-cffi writes.
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    #: Regime ids whose findings the user works or reads; an admin sees every regime.
    regimes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal token for scripts; only its sha256 is kept, it is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewSession(Base):
    """A signed-in browser. Kept in the database so that disabling a user ends it at once."""

    __tablename__ = "sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: The token every state-changing form and cookie-authenticated API call must carry.
    csrf_token: Mapped[str] = mapped_column(String(64))


class LoginAttempt(Base):
    """Recent sign-in attempts: the rate limit per account and per address counts them."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account_at", "account", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    account: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditEntry(Base):
    """One change to a finding or one user-management act. Append-only: a trigger makes
    PostgreSQL refuse UPDATE, DELETE and TRUNCATE on the table, whoever asks."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_finding_id", "finding_id", "id"),
        Index("ix_audit_log_subject_user_id", "subject_user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    #: Who acted; NULL for the system (a re-screen).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: How: "web", "api", "cli (OS user …)", "matcher".
    via: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    rationale: Mapped[str | None] = mapped_column(Text)
