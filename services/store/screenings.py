"""Storing screened transfers and their findings, idempotently, a batch at a time.

:func:`record_screenings` may be called any number of times for the same
records (Kafka redelivery, a restart before the offset commit, an integrator
re-sending, the reconciler publishing again): it leaves exactly one transfer row
per (integrator, record_id) and one row per distinct finding. A corrected re-send
(same record_id, other content) replaces the stored record and marks the findings
it no longer yields as superseded. A finding yielded again under its key with other
material content (:func:`services.core.findings.material`) takes the new content and is
reopened if decided; its visible regimes follow the record. Each such move is audited.

A batch is four statements whatever its size (look-up, upsert, findings, ledger), and one
more for the superseding when it holds corrected records, each
fixed SQL text with one parameter: the batch's rows as one JSON document, serialised by
orjson in one call and read by PostgreSQL's ``jsonb_to_recordset`` — nothing compiled or
escaped per row in Python, and a record's JSON written once, inside the document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.findings import Finding
from services.core.visibility import findings_visibility, search_columns
from services.store import audit, ledger, visibility
from services.store.ledger import record_digest
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


def _differs(a: str, b: str) -> str:
    """SQL: findings ``a`` and ``b`` differ in material content
    (:func:`services.core.findings.material`)."""
    return f"""(
        {a}.severity <> {b}.severity OR {a}.summary <> {b}.summary
        OR {a}.citations <> {b}.citations OR {_designated_differs(a, b)})"""


def _designated_differs(a: str, b: str) -> str:
    return f"""(
        {a}.designated ->> 'name' IS DISTINCT FROM {b}.designated ->> 'name'
        OR {a}.designated ->> 'matched_name' IS DISTINCT FROM {b}.designated ->> 'matched_name'
        OR round(CAST({a}.designated ->> 'score' AS numeric), 2)
           IS DISTINCT FROM round(CAST({b}.designated ->> 'score' AS numeric), 2))"""


def _changed_fields(side: str) -> str:
    """SQL: the jsonb of the fields that changed between ``w`` (before) and ``u`` (after),
    as ``side`` had them, with the status."""
    return f"""jsonb_strip_nulls(jsonb_build_object(
        'severity', CASE WHEN w.severity <> u.severity THEN {side}.severity END,
        'summary', CASE WHEN w.summary <> u.summary THEN {side}.summary END,
        'citations', CASE WHEN w.citations <> u.citations THEN {side}.citations END,
        'designated', CASE WHEN {_designated_differs("w", "u")} THEN {side}.designated END,
        'visible_regimes', CASE WHEN w.visible_regimes <> u.visible_regimes
                                THEN to_jsonb({side}.visible_regimes) END,
        'status', {side}.status))"""


# A JSON null in the document reads as SQL NULL; the columns have always held JSON null.
# A finding already stored under its key keeps its row. If its material content differs it
# takes the new content and, decided or under review, is open again; if only the regimes
# that see it differ (a corrected route), it takes those. Either is audited, before and
# after, in the same statement. ``was`` reads the rows as they were: every part of one
# statement sees the same snapshot.
_UPSERT_FINDINGS = text(
    f"""
    WITH f AS MATERIALIZED (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS f(
            transfer_id bigint, finding_key text, record_id text, kind text, regime text,
            rule_id text, phase text, severity text, summary text, citations jsonb,
            party jsonb, designated jsonb, evidence jsonb, ruleset_version integer,
            list_version text, visible_regimes text[])
    ),
    was AS MATERIALIZED (
        SELECT o.id, o.severity, o.summary, o.citations, o.designated, o.status,
               o.visible_regimes
        FROM f JOIN findings o ON o.transfer_id = f.transfer_id AND o.finding_key = f.finding_key
    ),
    up AS (
        INSERT INTO findings AS o (
            transfer_id, finding_key, record_id, kind, regime, rule_id, phase, severity,
            summary, citations, party, designated, evidence, ruleset_version, list_version,
            visible_regimes)
        SELECT transfer_id, finding_key, record_id, kind, regime, rule_id, phase, severity,
               summary, citations, coalesce(party, 'null'), coalesce(designated, 'null'),
               evidence, ruleset_version, list_version, visible_regimes
        FROM f
        ON CONFLICT (transfer_id, finding_key) DO UPDATE SET
            severity = CASE WHEN {_differs("o", "excluded")}
                            THEN excluded.severity ELSE o.severity END,
            summary = CASE WHEN {_differs("o", "excluded")}
                           THEN excluded.summary ELSE o.summary END,
            citations = CASE WHEN {_differs("o", "excluded")}
                             THEN excluded.citations ELSE o.citations END,
            designated = CASE WHEN {_differs("o", "excluded")}
                              THEN excluded.designated ELSE o.designated END,
            evidence = CASE WHEN {_differs("o", "excluded")}
                            THEN excluded.evidence ELSE o.evidence END,
            ruleset_version = CASE WHEN {_differs("o", "excluded")}
                                   THEN excluded.ruleset_version ELSE o.ruleset_version END,
            list_version = CASE WHEN {_differs("o", "excluded")}
                                THEN excluded.list_version ELSE o.list_version END,
            status = CASE WHEN {_differs("o", "excluded")}
                          THEN 'open' ELSE o.status END,
            status_changed_at = CASE WHEN o.status <> 'open' AND {_differs("o", "excluded")}
                                     THEN now() ELSE o.status_changed_at END,
            visible_regimes = excluded.visible_regimes
        WHERE {_differs("o", "excluded")} OR o.visible_regimes <> excluded.visible_regimes
        RETURNING o.id, o.transfer_id, o.severity, o.summary, o.citations, o.designated,
                  o.status, o.visible_regimes
    ),
    audited AS (
        INSERT INTO audit_log (actor_id, via, action, finding_id, before, after, rationale)
        SELECT NULL, :via, :action, u.id, {_changed_fields("w")}, {_changed_fields("u")},
               CASE WHEN u.transfer_id = ANY(CAST(:resent AS bigint[]))
                    THEN :resent_reason ELSE :reason END
        FROM up u JOIN was w ON w.id = u.id
    )
    SELECT u.transfer_id, w.id IS NULL AS inserted FROM up u LEFT JOIN was w ON w.id = u.id
    """
)

RESENT = "a corrected re-send of the record no longer yields it"
RESENT_AGAIN = "a corrected re-send of the record yields it again"
RESENT_CHANGED = "a corrected re-send of the record changes it"
#: Who the audit log says acted when the matcher changes a finding (``actor_id`` NULL).
MATCHER = "matcher"


def screened_again(ruleset_version: int, list_version: str | None) -> str:
    return f"screened again with ruleset {ruleset_version} / list {list_version or 'none'}"


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
    """Upsert the transfers and their findings; the caller commits.

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
    revised = {k for k in keep if k in previous and previous[k] != digests[k]}
    ids = await _upsert_transfers(
        session, [latest[k] for k in keep], digests, ruleset_version, list_version
    )
    territories = await visibility.territories(session, ruleset_version)
    statement, params = upsert_findings(
        [
            (
                ids[k],
                latest[k].findings,
                findings_visibility(latest[k].record, latest[k].findings, territories),
            )
            for k in keep
        ],
        via=MATCHER,
        reason=screened_again(ruleset_version, list_version),
        resent=[ids[k] for k in revised],
        resent_reason=RESENT_CHANGED,
    )
    new: dict[int, int] = {}
    if statement is not None:
        for transfer_id, inserted in await session.execute(statement, params):
            if inserted:
                new[transfer_id] = new.get(transfer_id, 0) + 1
    if revised:
        await session.execute(
            supersede_unyielded(
                [(ids[k], [f.key for f in latest[k].findings]) for k in revised],
                reason=RESENT,
                restored=RESENT_AGAIN,
                via=MATCHER,
            )
        )
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


def upsert_findings(
    found: Sequence[tuple[int, Sequence[Finding], Sequence[Sequence[str]]]],
    *,
    via: str,
    reason: str,
    resent: Sequence[int] = (),
    resent_reason: str = "",
) -> tuple[TextClause | None, dict[str, Any]]:
    """The statement (None if there is nothing to write) and its parameters that insert
    each transfer's findings, each with the regimes that see it, and bring those already
    stored up to date (see ``_UPSERT_FINDINGS``). It yields ``(transfer_id, inserted)`` per
    finding inserted or changed. An audited change gives ``reason``, or ``resent_reason``
    for the transfers ``resent`` (a corrected record)."""
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for transfer_id, findings, visible in found:
        for f, seen in zip(findings, visible, strict=True):
            # ON CONFLICT DO UPDATE may touch a row once per statement: one row per key.
            rows.setdefault(
                (transfer_id, f.key),
                {
                    "transfer_id": transfer_id,
                    "finding_key": f.key,
                    **f.to_dict(),
                    "visible_regimes": list(seen),
                },
            )
    if not rows:
        return None, {}
    return _UPSERT_FINDINGS, {
        "rows": document(list(rows.values())),
        "via": via,
        "action": audit.Action.FINDING_CHANGE.value,
        "reason": reason,
        "resent": list(resent),
        "resent_reason": resent_reason,
    }


# Only the findings whose state moves are written, each with its audit entry: a finding
# superseded before keeps its time and reason.
_SUPERSEDE_UNYIELDED = text(
    """
    WITH y AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS y(transfer_id bigint, keys text[])
    ),
    moved AS (
        UPDATE findings f SET
            superseded_at = CASE WHEN f.finding_key = ANY(y.keys) THEN NULL ELSE now() END,
            superseded_reason = CASE WHEN f.finding_key = ANY(y.keys) THEN NULL ELSE :reason END
        FROM y
        WHERE f.transfer_id = y.transfer_id AND f.pattern_group IS NULL
          AND (f.superseded_at IS NULL) <> (f.finding_key = ANY(y.keys))
        RETURNING f.id, f.superseded_at IS NOT NULL AS superseded
    )
    INSERT INTO audit_log (actor_id, via, action, finding_id, before, after, rationale)
    SELECT NULL, :via, CASE WHEN superseded THEN :supersede ELSE :restore END, id,
           jsonb_build_object('superseded', NOT superseded),
           jsonb_build_object('superseded', superseded),
           CASE WHEN superseded THEN :reason ELSE :restored END
    FROM moved
    """
)


def supersede_unyielded(
    transfers: Sequence[tuple[int, Sequence[str]]], *, reason: str, restored: str, via: str
) -> TextClause:
    """The statement that brings transfers' findings in line with the keys each now yields.

    Findings a transfer no longer yields are superseded (a finding superseded before keeps
    its time and reason; one newly superseded takes ``reason``); those it yields again are
    in force again (audited with ``restored``). Each finding that moves gets an audit entry
    by the system through ``via``. The matcher (a corrected re-send) and ``ewatch
    rescreen`` share this rule. Findings on sets of transfers filed on these are
    ``record_patterns``' to decide.
    """
    rows = [{"transfer_id": t, "keys": list(keys)} for t, keys in transfers]
    return _SUPERSEDE_UNYIELDED.bindparams(
        rows=document(rows),
        reason=reason,
        restored=restored,
        via=via,
        supersede=audit.Action.FINDING_SUPERSEDE.value,
        restore=audit.Action.FINDING_RESTORE.value,
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
