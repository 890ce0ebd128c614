"""Diversion patterns across transfers, kept in PostgreSQL: :func:`record_patterns`.

The matcher's batch store calls it inside the batch's transaction, once the batch's
``screened_transfers`` rows and their own findings are written. Everything it needs is in
PostgreSQL (``pattern_transfers``, ``pattern_keys``, ``findings``), so it sees what every
worker committed, whatever partition brought it, and survives any restart; the embedded
broker keeps nothing. ``docs/architecture.md`` ("Stateful indicators") says why.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.core import rules
from services.core.patterns import (
    Check,
    Family,
    Filed,
    PatternFinding,
    PatternRules,
    Plan,
    TransferFacts,
    TransferRef,
    checks,
    detect,
    facts_of,
    reconcile,
)
from services.core.transfers import Transfer, parse_transfer
from services.core.visibility import record_countries, visible_regimes
from services.store import visibility
from services.store.audit import Action
from services.store.models import (
    FindingRow,
    PatternKey,
    PatternTransfer,
    RulesetVersion,
)
from services.store.screenings import MATCHER, document

__all__ = ["PatternRules", "record_patterns"]

log = logging.getLogger(__name__)


async def record_patterns(
    session: AsyncSession,
    transfer_ids: Sequence[int],
    rules: PatternRules,
    screened: Mapping[int, tuple[str, Transfer]] | None = None,
) -> int:
    """Decide again every pattern the transfers ``transfer_ids`` take part in, and keep the
    outcome: new pattern findings inserted, those that no longer hold superseded (with the
    reason), those that hold again restored. Returns how many findings it inserted.

    Idempotent: transfers stored again unchanged do nothing, and a set found again inserts
    nothing (``ON CONFLICT`` on the finding's key). The caller commits.

    Takes a transaction-scoped advisory lock on every look-up key involved, in one sorted
    order, before reading related transfers: it blocks while another transaction holding
    one of them runs, and holds them to the caller's commit. The transaction must be READ
    COMMITTED (PostgreSQL's default), so that each statement after the lock sees what the
    previous holder committed. Call it last in the transaction, so the locks are held as
    briefly as possible and no other row lock is taken while waiting for them.

    ``screened`` holds, by transfer id, the integrator and the parsed record the caller
    has just stored; the others are read back from ``screened_transfers``.
    """
    if not transfer_ids:
        return 0
    changes = await _changes(session, sorted(set(transfer_ids)), screened or {})
    if not changes:
        return 0
    todo = checks([(c.old, c.new) for c in changes], rules)
    await _lock(session, {(c.family, c.key) for c in todo})
    await _write_facts(session, changes)
    if not todo:
        return 0
    # Every pattern needs a transfer near an embargo in its set, so a key with none in
    # reach can hold no finding, unless a changed transfer was near one before (a finding
    # it belonged to may have to go): only the others are read and decided.
    was_near = {
        family_key
        for c in changes
        if c.old is not None and c.old.approaches
        for family_key in c.old.lookup_keys()
    }
    related = await _related(session, todo, was_near)
    live = [n for n, c in enumerate(todo) if related[n] or (c.family, c.key) in was_near]
    if not live:
        return 0
    todo = [todo[n] for n in live]
    related = [related[n] for n in live]
    filed, row_ids = await _filed(session, todo)
    plans = []
    for n, check in enumerate(todo):
        desired = detect(check.pattern, check.key, [f for _, f in related[n]], rules, check.span)
        plans.append(reconcile(filed[n], desired))
    transfer_ids_of = {f.ref: transfer_id for rows in related for transfer_id, f in rows}
    return await _apply(session, plans, transfer_ids_of, row_ids)


@dataclass(frozen=True, slots=True)
class _Change:
    transfer_id: int
    old: TransferFacts | None
    new: TransferFacts | None


async def _changes(
    session: AsyncSession,
    transfer_ids: Sequence[int],
    screened: Mapping[int, tuple[str, Transfer]],
) -> list[_Change]:
    """The transfers whose facts differ from those kept (a new transfer, a corrected one,
    one screened with other rules); None for facts with nothing to look a transfer up by."""
    known = [i for i in transfer_ids if i in screened]
    unknown = [i for i in transfer_ids if i not in screened]
    rows = (
        [
            (transfer_id, *screened[transfer_id], ruleset_version, kept)
            for transfer_id, ruleset_version, kept in await session.execute(_KEPT, {"ids": known})
        ]
        if known
        else []
    )
    if unknown:
        rows += [
            (transfer_id, integrator, parse_transfer(orjson.loads(record)), version, kept)
            for transfer_id, integrator, record, version, kept in await session.execute(
                _TRANSFERS, {"ids": unknown}
            )
        ]
    rulesets = await _rulesets(session, {row[3] for row in rows})
    changes = []
    for transfer_id, integrator, transfer, ruleset_version, kept in rows:
        facts = facts_of(transfer, integrator, rulesets[ruleset_version])
        new = facts if facts.lookup_keys() else None
        old = _parsed(kept) if kept is not None else None
        if old != new:
            changes.append(_Change(transfer_id, old, new))
    return changes


# JSON as text, read with orjson: several times faster than the driver's json.loads.
_TRANSFERS = text(
    """
    SELECT s.id, s.integrator, s.record::text, s.ruleset_version, t.facts::text
    FROM screened_transfers s LEFT JOIN pattern_transfers t ON t.transfer_id = s.id
    WHERE s.id = ANY(CAST(:ids AS bigint[]))
    """
)


_KEPT = text(
    """
    SELECT s.id, s.ruleset_version, t.facts::text
    FROM screened_transfers s LEFT JOIN pattern_transfers t ON t.transfer_id = s.id
    WHERE s.id = ANY(CAST(:ids AS bigint[]))
    """
)


# A receiver's transfers are read again for every batch that names it: keep the latest few
# thousand parsed, by their JSON (equal text, equal facts; a corrected transfer's differs).
@lru_cache(maxsize=4096)
def _parsed(facts: str) -> TransferFacts:
    return TransferFacts.from_dict(orjson.loads(facts))


#: Rulesets by (digest, version): a version never changes, but its number is per database.
_RULESETS: dict[tuple[str, int], rules.Ruleset] = {}
#: Versions already warned of as not stored.
_UNSTORED: set[int] = set()


async def _rulesets(session: AsyncSession, versions: Iterable[int]) -> dict[int, rules.Ruleset]:
    """Each version's ruleset, as the transfers were screened with it: which embargoes a
    transfer comes near is judged with the rules that judged the transfer."""
    wanted = set(versions)
    stored = (
        await session.execute(
            select(RulesetVersion.version, RulesetVersion.digest).where(
                RulesetVersion.version.in_(wanted)
            )
        )
    ).all()
    out = {}
    for version, digest in stored:
        ruleset = _RULESETS.get((digest, version))
        if ruleset is None:
            documents = await session.scalar(
                select(RulesetVersion.documents).where(RulesetVersion.version == version)
            )
            ruleset = rules.ruleset_from_documents(documents or {}, version=version)
            _RULESETS[(digest, version)] = ruleset
        out[version] = ruleset
    for version in wanted - out.keys():
        # Screened with rules read from files (version 0), or a database without them.
        if version not in _UNSTORED:
            _UNSTORED.add(version)
            log.warning("ruleset version %d is not stored; patterns use the shipped rules", version)
        out[version] = _shipped()
    return out


@cache
def _shipped() -> rules.Ruleset:
    return rules.load_directory()


def lock_id(family: Family, key: str) -> int:
    """The advisory lock of one look-up key: 64 bits of its digest, signed as PostgreSQL's
    bigint. Two keys sharing one only wait for each other."""
    digest = hashlib.sha256(f"ewatch.pattern\x1f{family}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _lock(session: AsyncSession, keys: Iterable[tuple[Family, str]]) -> None:
    """Every transaction takes its locks in ascending order, so two never wait on each
    other; ``unnest`` hands them to the function in the array's order."""
    ids = sorted({lock_id(family, key) for family, key in keys})
    if ids:
        await session.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:ids AS bigint[])) k"),
            {"ids": ids},
        )


async def _write_facts(session: AsyncSession, changes: Sequence[_Change]) -> None:
    """Replace the kept facts and keys of the changed transfers, a statement each."""
    # A transfer without kept facts has no keys either: a new one, most of the time.
    had = [c.transfer_id for c in changes if c.old is not None]
    if had:
        await session.execute(delete(PatternKey).where(PatternKey.transfer_id.in_(had)))
    gone = [c.transfer_id for c in changes if c.new is None]
    if gone:
        await session.execute(delete(PatternTransfer).where(PatternTransfer.transfer_id.in_(gone)))
    kept = [(c.transfer_id, c.new) for c in changes if c.new is not None]
    if not kept:
        return
    # One JSON document a statement: psycopg escapes a text or jsonb array element by
    # element in Python, orjson writes the document in one call.
    await session.execute(
        _UPSERT_FACTS,
        {"rows": document([{"transfer_id": i, "facts": new.to_dict()} for i, new in kept])},
    )
    keys = [
        {"transfer_id": i, "family": family.value, "key": key, "transfer_date": new.transfer_date}
        for i, new in kept
        for family, key in sorted(new.lookup_keys())
    ]
    await session.execute(_INSERT_KEYS, {"rows": document(keys)})


_UPSERT_FACTS = text(
    """
    INSERT INTO pattern_transfers (transfer_id, facts)
    SELECT transfer_id, facts
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(transfer_id bigint, facts jsonb)
    ON CONFLICT (transfer_id) DO UPDATE SET facts = excluded.facts
    """
)
_INSERT_KEYS = text(
    """
    INSERT INTO pattern_keys (transfer_id, family, key, transfer_date)
    SELECT transfer_id, family, key, transfer_date
    FROM jsonb_to_recordset(CAST(:rows AS jsonb))
         AS r(transfer_id bigint, family text, key text, transfer_date date)
    """
)


# On the table, not the entity: an executemany, not the ORM's bulk insert.
_FINDINGS = cast(Table, FindingRow.__table__)
_INSERT_FINDINGS = (
    insert(_FINDINGS)
    .on_conflict_do_nothing(index_elements=["transfer_id", "finding_key"])
    .returning(_FINDINGS.c.id)
)


# A key's transfers only where one of them in reach comes near an embargo, or the key is
# forced (record_patterns says why).
_RELATED = text(
    """
    WITH c AS (
        SELECT * FROM unnest(CAST(:families AS text[]), CAST(:keys AS text[]),
                             CAST(:los AS date[]), CAST(:his AS date[]),
                             CAST(:forced AS boolean[]))
               WITH ORDINALITY AS c(family, key, lo, hi, forced, n)
    ), reach AS (
        SELECT c.n, k.transfer_id, t.facts
        FROM c
        JOIN pattern_keys k
          ON k.family = c.family AND k.key = c.key
         AND k.transfer_date BETWEEN coalesce(c.lo, '-infinity') AND coalesce(c.hi, 'infinity')
        JOIN pattern_transfers t ON t.transfer_id = k.transfer_id
    ), near AS (
        SELECT DISTINCT n FROM reach WHERE facts -> 'approaches' <> '[]'::jsonb
        UNION SELECT n FROM c WHERE forced
    )
    SELECT r.n, r.transfer_id, r.facts::text FROM reach r JOIN near USING (n)
    """
)

_FILED = text(
    """
    SELECT c.n, f.id, f.finding_key, f.superseded_at IS NULL AS in_force,
           f.evidence -> 'transfers' AS members
    FROM unnest(CAST(:groups AS text[]), CAST(:los AS date[]), CAST(:his AS date[]))
         WITH ORDINALITY AS c(grp, lo, hi, n)
    JOIN findings f
      ON f.pattern_group = c.grp
     AND f.pattern_anchor BETWEEN coalesce(c.lo, '-infinity') AND coalesce(c.hi, 'infinity')
    """
)


async def _related(
    session: AsyncSession, todo: Sequence[Check], forced: Collection[tuple[Family, str]]
) -> list[list[tuple[int, TransferFacts]]]:
    """Per check, the transfers of its key dated within what its span loads: one statement
    for all of them, each key read once over the widest of its checks' loads. None for a
    key none of whose transfers in reach comes near an embargo, unless it is ``forced``."""
    loads: dict[tuple[Family, str], tuple[date | None, date | None]] = {}
    for c in todo:
        lo, hi = loads.get((c.family, c.key), (c.span.load_lo, c.span.load_hi))
        loads[(c.family, c.key)] = (
            _wider(lo, c.span.load_lo, min),
            _wider(hi, c.span.load_hi, max),
        )
    looked_up = list(loads)
    rows = await session.execute(
        _RELATED,
        {
            "families": [family.value for family, _ in looked_up],
            "keys": [key for _, key in looked_up],
            "los": [loads[k][0] for k in looked_up],
            "his": [loads[k][1] for k in looked_up],
            "forced": [k in forced for k in looked_up],
        },
    )
    by_key: dict[tuple[Family, str], list[tuple[int, TransferFacts]]] = {k: [] for k in looked_up}
    for n, transfer_id, facts in rows:
        by_key[looked_up[n - 1]].append((transfer_id, _parsed(facts)))
    return [
        [(i, f) for i, f in by_key[(c.family, c.key)] if c.span.loads(f.transfer_date)]
        for c in todo
    ]


def _wider(a: date | None, b: date | None, pick: Callable[[date, date], date]) -> date | None:
    """The wider of two bounds; None (no bound) is wider than any."""
    return None if a is None or b is None else pick(a, b)


async def _filed(
    session: AsyncSession, todo: Sequence[Check]
) -> tuple[list[list[Filed]], dict[str, int]]:
    """Per check, the findings filed under its group with their anchor in its span; and the
    row id of each by its key (a key names its transfers, so it has one row)."""
    rows = await session.execute(
        _FILED,
        {
            "groups": [c.group for c in todo],
            "los": [c.span.lo for c in todo],
            "his": [c.span.hi for c in todo],
        },
    )
    out: list[list[Filed]] = [[] for _ in todo]
    row_ids = {}
    for n, row_id, key, in_force, members in rows:
        refs = tuple(TransferRef(m["integrator"], m["record_id"]) for m in members or ())
        out[n - 1].append(Filed(key, in_force, refs))
        row_ids[key] = row_id
    return out, row_ids


async def _apply(
    session: AsyncSession,
    plans: Iterable[Plan],
    transfer_ids: Mapping[TransferRef, int],
    row_ids: Mapping[str, int],
) -> int:
    """Carry out ``plans`` in three statements at most; returns how many findings were
    inserted. ``transfer_ids``: of every related transfer; ``row_ids``: of every filed one."""
    new = [pf for plan in plans for pf in plan.insert]
    restore = [row_ids[key] for plan in plans for key in plan.restore]
    supersede = [(row_ids[key], why) for plan in plans for key, why in plan.supersede]
    inserted = 0
    if new:
        visible = await _visibility(session, new, transfer_ids)
        inserts = [
            _row(pf, transfer_ids[pf.holder], seen) for pf, seen in zip(new, visible, strict=True)
        ]
        inserted = len((await session.execute(_INSERT_FINDINGS, inserts)).all())
    if restore or supersede:
        ids, reasons = zip(*supersede, strict=True) if supersede else ((), ())
        await session.execute(
            _MOVE,
            {
                "restore": restore,
                "ids": list(ids),
                "reasons": list(reasons),
                "via": MATCHER,
                "supersede_action": Action.FINDING_SUPERSEDE.value,
                "restore_action": Action.FINDING_RESTORE.value,
                "restored": HOLDS_AGAIN,
            },
        )
    return inserted


#: Why a pattern finding superseded before is in force again, in the audit log.
HOLDS_AGAIN = "the set of transfers it names is found again"

# Superseding and restoring, each finding moved with its audit entry by the system.
_MOVE = text(
    """
    WITH s AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:reasons AS text[])) AS s(id, reason)
    ),
    superseded AS (
        UPDATE findings f SET superseded_at = now(), superseded_reason = s.reason
        FROM s WHERE f.id = s.id
        RETURNING f.id, f.superseded_reason
    ),
    restored AS (
        UPDATE findings f SET superseded_at = NULL, superseded_reason = NULL
        WHERE f.id = ANY(CAST(:restore AS bigint[])) AND f.superseded_at IS NOT NULL
        RETURNING f.id
    )
    INSERT INTO audit_log (actor_id, via, action, finding_id, before, after, rationale)
    SELECT CAST(NULL AS bigint), :via, :supersede_action, id,
           CAST('{"superseded": false}' AS jsonb), CAST('{"superseded": true}' AS jsonb),
           superseded_reason
    FROM superseded
    UNION ALL
    SELECT CAST(NULL AS bigint), :via, :restore_action, id,
           CAST('{"superseded": true}' AS jsonb), CAST('{"superseded": false}' AS jsonb),
           :restored
    FROM restored
    """
)


async def _visibility(
    session: AsyncSession,
    found: Sequence[PatternFinding],
    transfer_ids: Mapping[TransferRef, int],
) -> list[tuple[str, ...]]:
    """The regimes that see each pattern finding: the rule of
    :func:`services.core.visibility.visible_regimes`, over every transfer of its set (their
    places, and the regimes of their findings in force)."""
    members = {transfer_ids[ref] for pf in found for ref in pf.members if ref in transfer_ids}
    rows = await session.execute(_MEMBERS, {"ids": sorted(members)})
    countries: dict[int, frozenset[str]] = {}
    regimes: dict[int, list[str]] = {}
    for transfer_id, record, held in rows:
        countries[transfer_id] = record_countries(orjson.loads(record))
        regimes[transfer_id] = held or []
    out = []
    for pf in found:
        ids = [transfer_ids[ref] for ref in pf.members if ref in transfer_ids]
        territories = await visibility.territories(session, pf.finding.ruleset_version)
        out.append(
            visible_regimes(
                pf.finding.regime,
                None,
                frozenset().union(*(countries.get(i, frozenset()) for i in ids)),
                [r for i in ids for r in regimes.get(i, ())],
                territories,
            )
        )
    return out


_MEMBERS = text(
    """
    SELECT s.id, s.record::text,
           (SELECT array_agg(DISTINCT f.regime) FROM findings f
            WHERE f.transfer_id = s.id AND f.regime IS NOT NULL AND f.superseded_at IS NULL)
    FROM screened_transfers s WHERE s.id = ANY(CAST(:ids AS bigint[]))
    """
)


def _row(pf: PatternFinding, transfer_id: int, visible: Sequence[str]) -> dict[str, Any]:
    return {
        "transfer_id": transfer_id,
        "finding_key": pf.key,
        **pf.finding.to_dict(),
        "pattern_group": pf.group,
        "pattern_anchor": pf.anchor,
        "visible_regimes": list(visible),
    }
