"""The spine, end to end: HTTP → Kafka → Faust matcher → PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import sql
from tests.integration.stack import RunningStack, ndjson, restart, running_stack, wait_for
from tests.records import batch, record

pytestmark = pytest.mark.integration


def post(
    stack: RunningStack,
    body: bytes,
    integrator: str = "it",
    content_type: str = "application/x-ndjson",
) -> httpx.Response:
    return httpx.post(
        f"{stack.ingest_url}/v1/transfers",
        content=body,
        timeout=120,
        headers={"content-type": content_type, "x-ewatch-integrator": integrator},
    )


@pytest.fixture
def stack(database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_stack(
        database_url, kafka_bootstrap, unique, tmp_path, max_body_bytes="2000000"
    ) as s:
        yield s


def test_thousand_records_are_all_accounted_for_even_when_posted_twice(
    stack: RunningStack, database_url: str
) -> None:
    records = batch(1000)
    body = ndjson(records)
    first = post(stack, body)
    assert first.status_code == 207, first.text
    doc = first.json()
    assert doc["received"] == 1000
    assert doc["accepted"] + doc["rejected"] == 1000
    assert doc["rejected"] == 50
    accepted = {r["record_id"] for r in doc["results"] if r["status"] == "accepted"}
    rejected = [r for r in doc["results"] if r["status"] == "rejected"]
    assert all(r["reasons"] for r in rejected)

    def screened() -> int:
        return int(sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0])  # type: ignore[arg-type]

    wait_for(lambda: screened() == len(accepted), what="all accepted records screened")
    findings_after_first = sql(database_url, "SELECT count(*) FROM findings")[0][0]
    assert findings_after_first > 0

    second = post(stack, body)
    assert second.json()["accepted"] == len(accepted)
    wait_for(
        lambda: (
            sql(database_url, "SELECT sum(times_screened) FROM screened_transfers")[0][0]
            >= 2 * len(accepted)
        ),
        what="the second delivery screened",
    )

    ids = {row[0] for row in sql(database_url, "SELECT record_id FROM screened_transfers")}
    assert ids == accepted
    assert screened() == len(accepted)
    assert sql(database_url, "SELECT count(*) FROM findings")[0][0] == findings_after_first
    dupes = sql(
        database_url,
        "SELECT transfer_id, finding_key FROM findings GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert dupes == []
    kept = sql(
        database_url,
        "SELECT count(*), min(times_seen), max(times_seen) "
        "FROM rejected_records WHERE integrator = 'it'",
    )
    assert kept == [(50, 2, 2)]
    assert (
        sql(database_url, "SELECT count(*) FROM rejected_records WHERE reasons = '[]'")[0][0] == 0
    )


def test_pistols_to_a_company_in_haiti_in_november_2024_is_a_violation(
    stack: RunningStack, database_url: str
) -> None:
    response = post(stack, orjson.dumps(record("haiti-1")), content_type="application/json")
    assert response.status_code == 202, response.text
    wait_for(
        lambda: sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] == 1,
        what="screening",
    )
    rows = sql(
        database_url,
        "SELECT kind, regime, phase, citations, summary FROM findings WHERE kind = 'violation'",
    )
    assert len(rows) == 1
    kind, regime, phase, citations, summary = rows[0]
    assert (kind, regime, phase) == ("violation", "HT", "HT-2752-all-arms-territorial")
    assert "S/RES/2752 (2024), para 2" in citations  # type: ignore[operator]
    assert "Caribbean Import Services SA" in summary  # type: ignore[operator]
    status = httpx.get(
        f"{stack.ingest_url}/v1/transfers/haiti-1", headers={"x-ewatch-integrator": "it"}
    ).json()
    assert status["status"] == "screened"
    assert status["findings"][0]["kind"] == "violation"
    metrics = httpx.get(stack.matcher_url + "/metrics").text
    assert 'ewatch_matcher_findings_total{kind="violation",regime="HT"} 1.0' in metrics
    assert "ewatch_matcher_records_screened_total 1.0" in metrics
    ingest_metrics = httpx.get(stack.ingest_url + "/metrics").text
    assert "ewatch_ingest_records_accepted_total 1.0" in ingest_metrics


def test_bad_input_gets_a_clear_4xx_and_the_service_keeps_running(
    stack: RunningStack, database_url: str
) -> None:
    malformed = post(stack, b'[{"record_id": "x", ', content_type="application/json")
    assert malformed.status_code == 400
    assert "malformed JSON" in malformed.json()["error"]

    bad = record("bad-1")
    bad["route"]["destination"] = "Haiti"
    invalid = post(stack, orjson.dumps(bad), content_type="application/json")
    assert invalid.status_code == 422
    reasons = invalid.json()["results"][0]["reasons"]
    assert any("route.destination" in r for r in reasons), reasons

    line_broken = post(stack, orjson.dumps(record("ok-1")) + b"\n{not json\n")
    assert line_broken.status_code == 207
    results = line_broken.json()["results"]
    assert results[1]["status"] == "rejected"
    assert "line 2" in results[1]["reasons"][0]

    oversize = post(stack, b"[" + b" " * 2_100_000 + b"]", content_type="application/json")
    assert oversize.status_code == 413
    assert "larger than" in oversize.json()["error"]

    empty = post(stack, b"", content_type="application/json")
    assert empty.status_code == 400

    # NUL: valid JSON and UTF-8, but no PostgreSQL text column can hold it.
    nul_body = post(stack, b'{"a":1}\x00', content_type="application/json")
    assert nul_body.status_code == 400, nul_body.text
    nul = record("nul-1")
    nul["parties"][0]["name"] = "Gulf\x00Coast"
    nul_record = post(stack, orjson.dumps(nul), content_type="application/json")
    assert nul_record.status_code == 422, nul_record.text
    assert (
        "parties[0].name: contains a NUL character" in nul_record.json()["results"][0]["reasons"][0]
    )

    long_name = "x" * 201  # kept whole or refused, never cut short
    too_long = post(stack, orjson.dumps(record("ok-2")), integrator=long_name)
    assert too_long.status_code == 400
    assert "longer than 200 characters" in too_long.json()["error"]
    asked = httpx.get(
        f"{stack.ingest_url}/v1/transfers/ok-2", headers={"x-ewatch-integrator": long_name}
    )
    assert asked.status_code == 400

    assert httpx.get(stack.ingest_url + "/healthz").status_code == 200
    assert httpx.get(stack.ingest_url + "/readyz").json()["ready"] is True
    wait_for(
        lambda: (
            httpx.get(stack.matcher_url + "/readyz", timeout=10).json()["checks"]["kafka"] == "ok"
        ),
        timeout=30,
        what="the matcher's readiness check to reach the broker",
    )
    kept = sql(database_url, "SELECT count(*) FROM rejected_records")[0][0]
    assert kept == 6  # malformed, invalid, broken line, empty, two with NUL; not the oversize
    metrics = httpx.get(stack.ingest_url + "/metrics").text
    assert 'ewatch_ingest_records_rejected_total{reason="too_large"} 1.0' in metrics


def test_a_killed_matcher_loses_nothing_and_duplicates_nothing(
    stack: RunningStack, database_url: str
) -> None:
    records = batch(400, invalid_every=10_000)
    assert post(stack, ndjson(records)).json()["accepted"] == 400
    wait_for(
        lambda: sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] >= 50,
        what="some records screened",
    )
    restart(stack, "matcher")  # SIGKILL mid-stream, before offsets of in-flight work commit
    wait_for(
        lambda: sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] == 400,
        what="every record screened after the restart",
        timeout=120,
    )
    dupes = sql(
        database_url,
        "SELECT transfer_id, finding_key FROM findings GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert dupes == []


def test_records_produced_straight_to_kafka_are_screened_or_kept_as_rejected(
    stack: RunningStack, database_url: str, kafka_bootstrap: str
) -> None:
    import asyncio

    from services.broker import make_producer

    async def produce() -> None:
        producer = make_producer(kafka_bootstrap)
        await producer.start()
        try:
            topic = stack.env["EWATCH_TRANSFERS_TOPIC"]
            await producer.send_and_wait(topic, orjson.dumps(record("direct-1")), key=b"direct-1")
            await producer.send_and_wait(topic, b"not json at all", key=b"junk")
            nul = record("direct-nul")
            nul["parties"][1]["name"] = "Caribbean\x00Import"
            await producer.send_and_wait(topic, orjson.dumps(nul), key=b"direct-nul")
            await producer.send_and_wait(topic, orjson.dumps(record("direct-2")), key=b"direct-2")
        finally:
            await producer.stop()

    asyncio.run(produce())
    wait_for(
        lambda: (
            sql(database_url, "SELECT count(*) FROM rejected_records")[0][0] == 2
            and sql(database_url, "SELECT count(*) FROM screened_transfers")[0][0] == 2
        ),
        what="direct records handled",
    )
    assert sql(database_url, "SELECT DISTINCT integrator FROM screened_transfers") == [("kafka",)]
    reasons = [r for (r,) in sql(database_url, "SELECT reasons FROM rejected_records")]
    assert any("not a transfer message" in r[0] for r in reasons)  # type: ignore[index]
    assert any("contains a NUL character" in r[0] for r in reasons)  # type: ignore[index]
