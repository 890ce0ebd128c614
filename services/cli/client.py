"""A small HTTP client of the ingest API, for ``ewatch send`` and ``ewatch demo``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

from services.core.resources import samples_dir
from services.settings import Settings

DEMO_INTEGRATOR = "demo"


def default_url(settings: Settings) -> str:
    return f"http://{settings.host}:{settings.ingest_port}"


def post_records(
    client: httpx.Client, body: bytes, integrator: str, content_type: str = "application/x-ndjson"
) -> httpx.Response:
    return client.post(
        "/v1/transfers",
        content=body,
        headers={"content-type": content_type, "x-ewatch-integrator": integrator},
    )


def content_type_of(body: bytes) -> str:
    """JSON when the whole file is one JSON document (a record or an array of them, pretty
    printed or not); NDJSON otherwise."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "application/x-ndjson"
    return "application/json" if isinstance(doc, dict | list) else "application/x-ndjson"


def send_file(path: Path, url: str, integrator: str, out: Console) -> int:
    """Post ``path``; 0 if every record was accepted, 1 if any was rejected or the post
    failed (the reasons are printed)."""
    body = path.read_bytes()
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            response = post_records(client, body, integrator, content_type_of(body))
    except httpx.TransportError as exc:
        out.print(f"[red]error:[/red] could not reach the ingest API at {url}: {exc}")
        return 1
    try:
        doc = response.json()
    except ValueError:
        out.print(
            f"[red]error:[/red] {url} answered HTTP {response.status_code} without JSON; "
            "is it the ingest API (ewatch up, port 8080 by default)?"
        )
        return 1
    for result in doc.get("results", []):
        reasons = "; ".join(result.get("reasons", []))
        out.print(
            f"{result['index']:>5} {result.get('record_id') or '-':<30} "
            f"{result['status']} {reasons}"
        )
    out.print(
        f"HTTP {response.status_code}: {doc.get('accepted', 0)} accepted, "
        f"{doc.get('rejected', 0)} rejected" + (f" — {doc['error']}" if "error" in doc else "")
    )
    return 0 if response.status_code == 202 else 1


def wait_ready(client: httpx.Client, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the ingest API at {client.base_url} is not ready")
        time.sleep(0.5)


def wait_screened(
    client: httpx.Client, record_ids: list[str], timeout: float, since: datetime
) -> dict[str, Any]:
    """Poll until each record was screened at or after ``since`` (re-runs re-screen)."""
    done: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(record_ids) and time.monotonic() < deadline:
        for rid in record_ids:
            if rid in done:
                continue
            r = client.get(f"/v1/transfers/{rid}", headers={"x-ewatch-integrator": DEMO_INTEGRATOR})
            if r.status_code == 200 and datetime.fromisoformat(r.json()["screened_at"]) >= since:
                done[rid] = r.json()
        time.sleep(0.3)
    return done


def _metric_lines(client: httpx.Client, url: str, prefix: str) -> list[str]:
    text = client.get(url).text
    return [
        line
        for line in text.splitlines()
        if line.startswith(prefix) and not line.startswith("#") and "_created" not in line
    ]


def demo(url: str, timeout: float, out: Console, *, matcher_port: int) -> int:
    feed = (samples_dir() / "demo-feed.ndjson").read_bytes()
    with httpx.Client(base_url=url, timeout=60) as client:
        wait_ready(client, timeout)
        posted_at = datetime.now(UTC)
        response = post_records(client, feed, DEMO_INTEGRATOR)
        doc = response.json()
        out.print(
            f"posted {doc['received']} records: {doc['accepted']} accepted, "
            f"{doc['rejected']} rejected (HTTP {response.status_code})"
        )
        for r in doc["results"]:
            if r["status"] == "rejected":
                out.print(f"  rejected {r.get('record_id')}: " + "; ".join(r["reasons"]))
        accepted = [r["record_id"] for r in doc["results"] if r["status"] == "accepted"]
        screened = wait_screened(client, accepted, timeout, posted_at)
        table = Table(title="Screened transfers", show_lines=True)
        for col in ("record", "date", "kind", "regime", "summary"):
            table.add_column(col)
        flagged = 0
        for rid in accepted:
            record = orjson.loads(next(line for line in feed.splitlines() if rid.encode() in line))
            findings = screened.get(rid, {}).get("findings")
            if findings is None:
                table.add_row(rid, record["transfer_date"], "not screened yet", "", "")
            for f in findings or []:
                flagged += f["kind"] == "violation"
                table.add_row(rid, record["transfer_date"], f["kind"], f["regime"], f["summary"])
            if findings == []:
                table.add_row(rid, record["transfer_date"], "clear", "", "no finding")
        out.print(table)
        matcher_url = f"{url.rsplit(':', 1)[0]}:{matcher_port}/metrics"
        out.print("ingest metrics:")
        for line in _metric_lines(client, "/metrics", "ewatch_ingest_records"):
            out.print("  " + line)
        try:
            out.print("matcher metrics:")
            for line in _metric_lines(client, matcher_url, "ewatch_matcher_"):
                if "_bucket" not in line and "_sum" not in line:
                    out.print("  " + line)
        except httpx.TransportError:
            out.print("  (matcher metrics not reachable at " + matcher_url + ")")
    out.print(
        f"\n{flagged} violation(s) stored in PostgreSQL (tables screened_transfers, "
        "findings, rejected_records)."
    )
    out.print(
        f"Look further: GET {url}/v1/transfers/demo-001 (header X-Ewatch-Integrator: demo), "
        f"{url}/metrics, {matcher_url}"
    )
    return 0 if len(screened) == len(accepted) and flagged > 0 else 1
