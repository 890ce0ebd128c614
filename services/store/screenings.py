"""Storing screened transfers and their findings, idempotently, a batch at a time.

:func:`record_screenings` may be called any number of times for the same
records (Kafka redelivery, a restart before the offset commit, an integrator
re-sending, the reconciler publishing again): it leaves exactly one transfer row
per (integrator, record_id) and one row per distinct finding. A corrected re-send
(same record_id, other content) replaces the stored record and marks the findings
it no longer yields as superseded.

A batch is four statements whatever its size (look-up, upsert, findings, ledger), each
fixed SQL text with one parameter: the batch's rows as one JSON document, serialised by
orjson in one call and read by PostgreSQL's ``jsonb_to_recordset`` — nothing compiled or
escaped per row in Python, and a record's JSON written once, inside the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Update, case, func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.findings import Finding
from services.core.visibility import findings_visibility, search_columns
from services.store import ledger, visibility
from services.store.ledger import record_digest
from services.store.models import FindingRow
from services.store.outcomes import Delivery, Screening, Stored

_KNOWN = text(
    """
    SELECT k.integrator, k.record_id, t.record_sha256, a.record_sha256, a.received_at
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS k(integrator text, record_id text)
    LEFT JOIN screened_transfers t
           ON t.integrator = k.integrator AND t.record_id = k.record_id
    LEFT JOIN accepted_records a
           ON a.integrator = k.integrator AND a.record_id = k.record_id
    """
)

_UPSERT_TRANSFERS = text(
    """
    INSERT INTO screened_transfers AS t (
        integrator, record_id, record, record_sha256, transfer_date, origin, destination,
        received_at, ruleset_version, list_version, kafka_topic, kafka_partition, kafka_offset,
        party_names, party_keys, item_categories)
    SELECT integrator, record_id, record, record_sha256, transfer_date, origin, destination,
           received_at, :ruleset_version, :list_version, kafka_topic, kafka_partition,
           kafka_offset, party_names, party_keys, item_categories
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS s(
        integrator text, record_id text, record jsonb, record_sha256 text, transfer_date date,
        origin text, destination text, received_at timestamptz, kafka_topic text,
        kafka_partition integer, kafka_offset bigint, party_names text, party_keys text[],
        item_categories text[])
    ON CONFLICT (integrator, record_id) DO UPDATE SET
        record = excluded.record, record_sha256 = excluded.record_sha256,
        transfer_date = excluded.transfer_date, origin = excluded.origin,
        destination = excluded.destination, received_at = excluded.received_at,
        ruleset_version = excluded.ruleset_version, list_version = excluded.list_version,
        kafka_topic = excluded.kafka_topic, kafka_partition = excluded.kafka_partition,
        kafka_offset = excluded.kafka_offset, party_names = excluded.party_names,
        party_keys = excluded.party_keys, item_categories = excluded.item_categories,
        screened_at = now(),
        times_screened = t.times_screened + 1
    RETURNING t.integrator, t.record_id, t.id
    """
)

# A JSON null in the document reads as SQL NULL; the columns have always held JSON null.
_INSERT_FINDINGS = text(
    """
    INSERT INTO findings (
        transfer_id, finding_key, record_id, kind, regime, rule_id, phase, severity, summary,
        citations, party, designated, evidence, ruleset_version, list_version, visible_regimes)
    SELECT transfer_id, finding_key, record_id, kind, regime, rule_id, phase, severity,
           summary, citations, coalesce(party, 'null'), coalesce(designated, 'null'),
           evidence, ruleset_version, list_version, visible_regimes
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS f(
        transfer_id bigint, finding_key text, record_id text, kind text, regime text,
        rule_id text, phase text, severity text, summary text, citations jsonb, party jsonb,
        designated jsonb, evidence jsonb, ruleset_version integer, list_version text,
        visible_regimes text[])
    ON CONFLICT (transfer_id, finding_key) DO NOTHING
    RETURNING transfer_id
    """
)


RESENT = "a corrected re-send of the record no longer yields it"


def document(rows: Any) -> str:
    """``rows`` as the JSON text of a ``jsonb`` parameter."""
    return orjson.dumps(rows, option=orjson.OPT_NON_STR_KEYS).decode()


async def record_screenings(
    session: AsyncSession,
    screenings: Sequence[Screening],
    *,
    ruleset_version: int,
    list_version: str | None,
) -> list[Stored | None]:
    """Upsert the transfers and insert their findings; the caller commits.

    Returns, for each screening in order, what was stored, or None where the ledger
    holds newer content for that record (an older version delivered late: keeping it
    would undo the correction). Within the batch the last delivery of a record wins.
    """
    if not screenings:
        return []
    latest = {s.key: s for s in screenings}
    keys = list(latest)
    digests = {k: record_digest(s.record) for k, s in latest.items()}
    previous: dict[tuple[str, str], str] = {}
    stale: set[tuple[str, str]] = set()
    known = await session.execute(
        _KNOWN, {"rows": document([{"integrator": i, "record_id": r} for i, r in keys])}
    )
    for integrator, record_id, screened, accepted, received_at in known:
        key = (integrator, record_id)
        if screened is not None:
            previous[key] = screened
        if (
            accepted is not None
            and accepted != digests[key]
            and received_at > latest[key].delivery.received_at
        ):
            stale.add(key)
    keep = [k for k in keys if k not in stale]
    ids = await _upsert_transfers(
        session, [latest[k] for k in keep], digests, ruleset_version, list_version
    )
    territories = await visibility.territories(session, ruleset_version)
    new = await _insert_findings(
        session,
        [
            (
                ids[k],
                latest[k].findings,
                findings_visibility(latest[k].record, latest[k].findings, territories),
            )
            for k in keep
        ],
    )
    revised = {k for k in keep if k in previous and previous[k] != digests[k]}
    for k in revised:
        yielded = [f.key for f in latest[k].findings]
        await session.execute(supersede_unyielded(ids[k], yielded, RESENT))
    await ledger.settle_screened(
        session,
        [(k[0], latest[k].record, digests[k], latest[k].delivery.received_at) for k in keep],
    )
    return [
        None
        if s.key in stale
        else Stored(
            ids[s.key], new.get(ids[s.key], 0) if s is latest[s.key] else 0, s.key in revised
        )
        for s in screenings
    ]


async def _upsert_transfers(
    session: AsyncSession,
    screenings: Sequence[Screening],
    digests: dict[tuple[str, str], str],
    ruleset_version: int,
    list_version: str | None,
) -> dict[tuple[str, str], int]:
    if not screenings:
        return {}
    rows = [
        {
            "integrator": s.delivery.integrator,
            "record_id": s.record["record_id"],
            "record": s.record,
            "record_sha256": digests[s.key],
            "transfer_date": s.record["transfer_date"],
            "origin": s.record["route"]["origin"],
            "destination": s.record["route"]["destination"],
            "received_at": s.delivery.received_at,
            "kafka_topic": s.delivery.topic,
            "kafka_partition": s.delivery.partition,
            "kafka_offset": s.delivery.offset,
            **search_columns(s.record),
        }
        for s in screenings
    ]
    upserted = await session.execute(
        _UPSERT_TRANSFERS,
        {
            "rows": document(rows),
            "ruleset_version": ruleset_version,
            "list_version": list_version,
        },
    )
    return {(i, r): t for i, r, t in upserted}


async def _insert_findings(
    session: AsyncSession,
    found: Sequence[tuple[int, Sequence[Finding], Sequence[Sequence[str]]]],
) -> dict[int, int]:
    """Insert what is not there yet, each finding with the regimes that see it; return the
    number of new findings per transfer id."""
    rows = [
        {"transfer_id": transfer_id, "finding_key": f.key, **f.to_dict(), "visible_regimes": seen}
        for transfer_id, findings, visible in found
        for f, seen in zip(findings, visible, strict=True)
    ]
    if not rows:
        return {}
    inserted = await session.execute(_INSERT_FINDINGS, {"rows": document(rows)})
    new: dict[int, int] = {}
    for (transfer_id,) in inserted:
        new[transfer_id] = new.get(transfer_id, 0) + 1
    return new


def supersede_unyielded(
    transfer_id: int, yielded: Sequence[str], reason: str | None = None
) -> Update:
    """The statement that brings a transfer's findings in line with the keys it now yields.

    Findings it no longer yields are superseded (a finding superseded before keeps its time
    and reason; one newly superseded takes ``reason``); those it yields again are in force
    again. The matcher (a corrected re-send) and ``ewatch rescreen`` share this rule.
    Findings on sets of transfers filed on this one are ``record_patterns``' to decide.
    """
    keys = list(yielded) or [""]
    kept = FindingRow.finding_key.in_(keys)
    return (
        update(FindingRow)
        .where(FindingRow.transfer_id == transfer_id, FindingRow.pattern_group.is_(None))
        .values(
            superseded_at=case(
                (kept, None), else_=func.coalesce(FindingRow.superseded_at, func.now())
            ),
            superseded_reason=case(
                (kept, None),
                (FindingRow.superseded_at.is_(None), reason),
                else_=FindingRow.superseded_reason,
            ),
        )
    )


async def record_screening(
    session: AsyncSession,
    record: dict[str, Any],
    findings: Sequence[Finding],
    delivery: Delivery,
    *,
    ruleset_version: int,
    list_version: str | None,
) -> Stored | None:
    """:func:`record_screenings` of one record."""
    (stored,) = await record_screenings(
        session,
        [Screening(record, findings, delivery)],
        ruleset_version=ruleset_version,
        list_version=list_version,
    )
    return stored
