"""``ewatch rejected …``: the records rejected, why, and sending the curable ones again.

A record rejected for an internal error (a bug since fixed) or refused by the store can be
screened again: its Kafka message, kept as it was read, is published to the transfers topic
again, the rejection marked replayed and its ledger row made pending, so the reconciler and
``ewatch status`` count it until it is screened. A record that breaks the contract is not
replayed: its integrator must correct it and send it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import typer
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from services.broker import SCHEMA_HEADER, Envelope, ensure_topic, make_producer, wait_for_broker
from services.cli.common import err, fail, out, session_scope
from services.settings import get_settings
from services.stack.runtime import kafka_bootstrap
from services.store import ledger, rejections
from services.store.ledger import record_digest
from services.store.models import RejectedRecord

app = typer.Typer(
    help="Records rejected, with their reasons; replay the ones a fix has cured.",
    no_args_is_help=True,
)

#: Characters of the first reason shown in ``list`` (``show`` has them all).
REASON_WIDTH = 70
WIDE = 200
LIST_COLUMNS = (
    "id",
    "first seen (UTC)",
    "last seen (UTC)",
    "integrator",
    "record_id",
    "kind",
    "seen",
    "replayed",
    "first reason",
)


# --- What is shown ---------------------------------------------------------------------------


def shorten(text: str, width: int = REASON_WIDTH) -> str:
    """``text`` on one line, at most ``width`` characters (an ellipsis says it was cut)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def when(moment: datetime | None, *, seconds: bool = True) -> str:
    form = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return "" if moment is None else moment.astimezone(UTC).strftime(form)


def replayed_label(row: RejectedRecord) -> str:
    """ "" if never replayed; how often, and whether it was rejected again since."""
    if row.replayed_at is None:
        return ""
    times = f"{row.times_replayed}×" if row.times_replayed > 1 else "yes"
    if rejections.replayed_since_rejected(row):
        return times
    return f"{times}, rejected again"


def first_reason(row: RejectedRecord) -> str:
    return shorten(str(row.reasons[0])) if row.reasons else ""


def payload(row: RejectedRecord) -> tuple[str, str]:
    """The payload as kept, pretty JSON if it parses, and a line saying what it is."""
    cut = rejections.was_cut(row)
    size = f"{len(row.raw):,} characters"
    if cut:
        return row.raw, (
            f"payload: cut, only the first {rejections.MAX_RAW_CHARS // 1024} KiB "
            f"({size}) of what was sent are kept"
        )
    try:
        doc = orjson.loads(row.raw)
    except orjson.JSONDecodeError:
        return row.raw, f"payload, as sent ({size}, not JSON):"
    pretty = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
    return pretty, f"payload, as sent ({size}), JSON shown indented:"


def as_json(row: RejectedRecord) -> dict[str, Any]:
    """One rejection for ``list --json``: everything but the payload."""
    return {
        "id": row.id,
        "integrator": row.integrator,
        "record_id": row.record_id,
        "source": row.source,
        "reason_kind": row.reason_kind,
        "reasons": row.reasons,
        "first_seen_at": row.first_seen_at,
        "last_seen_at": row.last_seen_at,
        "times_seen": row.times_seen,
        "replayed_at": row.replayed_at,
        "times_replayed": row.times_replayed,
        "payload_cut": rejections.was_cut(row),
        "replay_refused": rejections.replay_refusal(row),
    }


# --- Replays ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replay:
    """A rejection to publish again: its Kafka message as it was read, and its key."""

    rejection_id: int
    integrator: str
    record_id: str
    value: bytes
    record_sha256: str


def plan(rejection_id: int, row: RejectedRecord | None) -> Replay | str:
    """The message to publish again for ``row``, or why it cannot be (one line)."""
    if row is None:
        return f"no rejected record has id {rejection_id}"
    refusal = rejections.replay_refusal(row)
    if refusal is not None:
        return refusal
    assert row.record_id is not None  # replay_refusal refuses a record without one
    value = row.raw.encode()
    try:
        envelope = Envelope.decode(value)
    except ValueError as exc:  # orjson's decode error is a ValueError too
        return f"its payload is not a message of the transfers topic ({exc})"
    return Replay(row.id, row.integrator, row.record_id, value, record_digest(envelope.record))


@dataclass(frozen=True, slots=True)
class Replayed:
    replay: Replay
    #: False when the record has no ledger row (it was produced straight to Kafka).
    in_ledger: bool


def replay_all(
    session: Session, ids: list[int], publish: Callable[[list[Replay]], None]
) -> tuple[list[Replayed], dict[int, str]]:
    """Plan, mark and publish the replays of ``ids`` in ``session``'s transaction: the
    caller commits only after ``publish(replays)`` returned, so a failed publish leaves
    nothing marked. Returns what was replayed and, by id, why the others were refused."""
    rows = rejections.rejections_by_id(session, ids)
    replays: list[Replay] = []
    refused: dict[int, str] = {}
    for rejection_id in ids:
        planned = plan(rejection_id, rows.get(rejection_id))
        if isinstance(planned, Replay):
            row = rows[rejection_id]
            newer = rejections.newer_content(
                session, row.integrator, planned.record_id, planned.record_sha256, row.last_seen_at
            )
            if newer is not None:
                planned = f"{newer}: replaying would screen the old content over it"
        if isinstance(planned, str):
            refused[rejection_id] = planned
        else:
            replays.append(planned)
    if not replays:
        return [], refused
    rejections.mark_replayed(session, [r.rejection_id for r in replays])
    done = [Replayed(r, ledger.unsettle_sync(session, r.integrator, r.record_id)) for r in replays]
    publish(replays)
    return done, refused


async def publish(bootstrap: str, topic: str, partitions: int, replays: list[Replay]) -> None:
    """Publish ``replays`` to ``topic`` (created if missing), keyed by record_id as ingest
    does; returns once the broker acknowledged every one, else raises ``KafkaError``."""
    await wait_for_broker(bootstrap, timeout=10.0)
    await ensure_topic(bootstrap, topic, partitions)
    producer = make_producer(bootstrap)
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic,
                value=r.value,
                key=r.record_id.encode(),
                headers=[
                    SCHEMA_HEADER,
                    ("ewatch-integrator", r.integrator.encode()),
                    ("ewatch-replay-of", str(r.rejection_id).encode()),
                ],
            )
            for r in replays
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# --- Commands --------------------------------------------------------------------------------


def _kind(value: str | None) -> str | None:
    if value is not None and value not in rejections.REASON_KINDS:
        known = ", ".join(rejections.REASON_KINDS)
        raise fail(f"--reason-kind {value!r} is not one of: {known}")
    return value


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--since {value!r} is not a date or time (YYYY-MM-DD[THH:MM])") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("list")
def list_rejected(
    integrator: Annotated[str | None, typer.Option(help="only this integrator's")] = None,
    reason_kind: Annotated[
        str | None,
        typer.Option(help="schema | malformed_json | body | malformed | error | refused"),
    ] = None,
    source: Annotated[str | None, typer.Option(help="http (ingest) | kafka (matcher)")] = None,
    since: Annotated[str | None, typer.Option(help="seen since (YYYY-MM-DD[THH:MM], UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, last seen first")] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="a JSON array, reasons in full")] = False,
) -> None:
    """Rejected records, last seen first: who sent them, why, whether they were replayed."""
    kind, after = _kind(reason_kind), _since(since)
    with session_scope() as session:
        rows = rejections.list_rejections(
            session,
            integrator=integrator,
            reason_kind=kind,
            source=source,
            since=after,
            limit=limit,
        )
        total = rejections.count_rejections(
            session, integrator=integrator, reason_kind=kind, source=source, since=after
        )
        if json_out:
            print(orjson.dumps([as_json(row) for row in rows]).decode())
        else:
            table = Table()
            for header in LIST_COLUMNS:
                table.add_column(header, no_wrap=True, overflow="ellipsis")
            for row in rows:
                table.add_row(
                    str(row.id),
                    when(row.first_seen_at, seconds=False),
                    when(row.last_seen_at, seconds=False),
                    Text(row.integrator),
                    Text(row.record_id or ""),
                    row.reason_kind,
                    str(row.times_seen),
                    replayed_label(row),
                    Text(first_reason(row)),
                )
            # Like ``docker ps``: one line per rejection however narrow the terminal; the
            # reason is already shortened, and ``show`` has it in full.
            Console(width=max(out.width, WIDE)).print(table)
    more = f"; --limit {total} shows all" if total > len(rows) else ""
    err.print(f"{len(rows)} of {total} rejected records{more}")


@app.command("show")
def show(rejection_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """One rejected record: its reasons in full, its payload, its replays."""
    with session_scope() as session:
        row = rejections.rejection(session, rejection_id)
        if row is None:
            raise fail(f"no rejected record has id {rejection_id}")
        held = (
            rejections.accepted_row(session, row.integrator, row.record_id)
            if row.record_id is not None
            else None
        )
        refusal = rejections.replay_refusal(row)
        if held is None:
            in_ledger = "no ledger row (never accepted by ingest)"
        elif held.settled_at is None:
            in_ledger = f"pending since {when(held.published_at)} UTC"
        else:
            in_ledger = f"settled as {held.outcome} at {when(held.settled_at)} UTC"
        if held is not None and held.record_sha256 != _digest_of(row):
            in_ledger += " (its content is another version of the record)"
        replays = (
            "never"
            if row.replayed_at is None
            else f"{row.times_replayed}×, last at {when(row.replayed_at)} UTC"
            + ("" if rejections.replayed_since_rejected(row) else ", rejected again since")
        )
        facts = [
            ("integrator", row.integrator),
            ("record_id", row.record_id or "(none)"),
            ("source", f"{row.source} ({'the matcher' if row.source == 'kafka' else 'ingest'})"),
            ("reason kind", row.reason_kind),
            ("first seen", f"{when(row.first_seen_at)} UTC"),
            ("last seen", f"{when(row.last_seen_at)} UTC"),
            ("times seen", str(row.times_seen)),
            ("replayed", replays),
            (
                "replay",
                f"not possible: {refusal}" if refusal else f"ewatch rejected replay {row.id}",
            ),
            ("ledger", in_ledger),
        ]
        text, about = payload(row)
        reasons = [str(r) for r in row.reasons]
    lines = [f"rejected record {rejection_id}"]
    lines += [f"  {name:<12} {value}" for name, value in facts]
    lines += ["reasons:", *(f"  - {reason}" for reason in reasons), about, text]
    out.print("\n".join(lines), markup=False, highlight=False)


def _digest_of(row: RejectedRecord) -> str | None:
    """The digest the ledger would hold for the record kept (a bare record or an envelope)."""
    try:
        return record_digest(Envelope.decode(row.raw.encode()).record)
    except ValueError:
        return None


@app.command("replay")
def replay(
    ids: Annotated[list[int] | None, typer.Argument(metavar="ID…", show_default=False)] = None,
    all_internal_errors: Annotated[
        bool,
        typer.Option(
            "--all-internal-errors",
            help="every error or refused rejection not replayed since it was last rejected",
        ),
    ] = False,
) -> None:
    """Publish rejected records again to be screened, once the bug or refusal is fixed.

    Exits 1 when any id was refused (each with its reason), 0 otherwise.
    """
    if bool(ids) == all_internal_errors:
        raise fail("give the ids of rejected records, or --all-internal-errors (not both)")
    settings = get_settings()
    bootstrap = kafka_bootstrap(settings)
    # aiokafka logs every failed connection attempt; the one line below says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)

    def send(replays: list[Replay]) -> None:
        topic, partitions = settings.transfers_topic, settings.topic_partitions
        asyncio.run(publish(bootstrap, topic, partitions, replays))

    try:
        with session_scope() as session:
            wanted = (
                rejections.replayable_ids(session)
                if all_internal_errors
                else list(dict.fromkeys(ids or ()))
            )
            done, refused = replay_all(session, wanted, send)
    except KafkaConnectionError:
        raise fail(f"the broker at {bootstrap} does not answer; nothing replayed") from None
    except KafkaError as exc:
        why = f"{type(exc).__name__}: {exc}"
        raise fail(
            f"the broker at {bootstrap} did not take them ({why}); nothing replayed"
        ) from None
    if not wanted:
        err.print("nothing to replay: no error or refused rejection awaits a replay")
    for d in done:
        r = d.replay
        where = "pending again in the ledger" if d.in_ledger else "no ledger row"
        out.print(
            f"replayed {r.rejection_id}: record {r.record_id} of {r.integrator} → "
            f"{settings.transfers_topic} ({where})",
            markup=False,
            highlight=False,
        )
    for rejection_id, why in refused.items():
        out.print(f"refused {rejection_id}: {why}", markup=False, highlight=False)
    if wanted:
        err.print(f"{len(done)} replayed, {len(refused)} refused")
    raise typer.Exit(1 if refused else 0)


@app.command("counts")
def counts(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Rejected records kept, by integrator and reason kind."""
    with session_scope() as session:
        by_integrator = rejections.counts_by_integrator(session)
    if json_out:
        print(orjson.dumps(by_integrator).decode())
        return
    table = Table("integrator", *rejections.REASON_KINDS, "total")
    for integrator, kinds in by_integrator.items():
        cells = [str(kinds.get(kind, 0)) for kind in rejections.REASON_KINDS]
        table.add_row(Text(integrator), *cells, str(sum(kinds.values())))
    out.print(table)
