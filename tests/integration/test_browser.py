"""A reviewer's session in the review workspace, in a real headless Chromium (Playwright).

``ewatch up`` serves the stack; the demo feed goes in through ingest's HTTP API; the demo
reviewer (``make demo``'s, added with ``ewatch users add``) signs in, filters the queue,
opens a finding, decides it with a rationale, sees the decision in its history and
exports the view as CSV. Each step leaves a screenshot in ``tests/artifacts/browser/``.

Debian's ``chromium`` is the browser (Playwright's own downloads are not used;
``EWATCH_CHROMIUM`` names another binary). Without it the test is skipped; under
``EWATCH_CI=1`` (``.ci/run``) that is a failure.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from services.cli.client import DEMO_INTEGRATOR, post_records, wait_screened
from services.cli.demo_run import DEMO_REGIME, DEMO_USER
from services.core.resources import samples_dir
from tests.conftest import require
from tests.integration.stack import ROOT, start_up, wait_ok

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("EWATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
RATIONALE = "Pistols to a private company in Haiti after 2752 (2024): no exemption applies."


@dataclass
class Workspace:
    url: str
    user: str
    password: str
    finding_record: str  # the record whose violation the reviewer decides


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium; session-scoped so that it is looked for before PostgreSQL and the
    broker are started for nothing."""
    require(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def workspace(
    database_url: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> Iterator[Workspace]:
    """``ewatch up`` on the test's database and broker, the demo reviewer, the demo feed
    screened."""
    up, ports = start_up(
        tmp_path / "data",
        log=tmp_path / "up.log",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        transfers_topic=f"transfers.v1.{unique}",
        matcher_group=f"ewatch-matcher-{unique}",
    )
    try:
        review_url = f"http://127.0.0.1:{ports['REVIEW_PORT']}"
        wait_ok(review_url + "/readyz", timeout=60)
        password = secrets.token_urlsafe(12)
        role = ["--role", "reviewer", "--regime", DEMO_REGIME, "--password-stdin"]
        added = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "users", "add", DEMO_USER, *role],
            input=password.encode() + b"\n",
            env={**os.environ, "EWATCH_DATABASE_URL": database_url},
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stdout + added.stderr
        feed = (samples_dir() / "demo-feed.ndjson").read_bytes()
        ingest_url = f"http://127.0.0.1:{ports['INGEST_PORT']}"
        with httpx.Client(base_url=ingest_url, timeout=60) as client:
            since = datetime.now(UTC)
            doc = post_records(client, feed, DEMO_INTEGRATOR).json()
            accepted = [r["record_id"] for r in doc["results"] if r["status"] == "accepted"]
            screened = wait_screened(client, accepted, 60, since)
        assert len(screened) == len(accepted), (tmp_path / "up.log").read_text()[-3000:]
        yield Workspace(review_url, DEMO_USER, password, "demo-001")
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(10)


def test_a_reviewer_filters_decides_and_exports_in_a_browser(
    chromium: str, workspace: Workspace
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=workspace.url, accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            # Sign in: the queue sends an anonymous visitor to the form, and back after it.
            page.goto("/findings")
            expect(page).to_have_url(re.compile(r"/login"))
            shot(page, "01-sign-in")
            page.get_by_label("Name").fill(workspace.user)
            page.get_by_label("Password").fill(workspace.password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Findings")).to_be_visible()
            expect(page.locator("header .who")).to_contain_text(f"reviewer · {DEMO_REGIME}")
            shot(page, "02-queue")

            # Filter: violations only, through the form; the URL holds the filter.
            page.locator("fieldset", has_text="Kind").get_by_label("violation").check()
            page.get_by_role("button", name="Filter").click()
            expect(page).to_have_url(re.compile(r"[?&]kind=violation"))
            rows = page.locator("table.queue tbody tr")
            target = rows.filter(has_text=workspace.finding_record)
            expect(target).to_have_count(1)
            kinds = rows.locator("td:nth-child(4)").all_inner_texts()  # after select, #, severity
            assert set(kinds) == {"violation"}, kinds
            assert set(rows.locator("td:nth-child(5)").all_inner_texts()) == {DEMO_REGIME}
            filtered_view = page.url
            shot(page, "03-queue-filtered")

            # Open the finding: its explanation, citations and the transfer record.
            target.get_by_role("link").first.click()
            expect(page).to_have_url(re.compile(r"/findings/\d+$"))
            finding_url = page.url
            expect(page.locator(".paste")).to_contain_text("2752 (2024)")
            expect(page.locator(".citations a").first).to_have_attribute(
                "href", re.compile(r"^https://undocs\.org/S/RES/")
            )
            expect(page.get_by_text(workspace.finding_record).first).to_be_visible()
            shot(page, "04-finding")

            # Decide it with a rationale; the page shows the new status and the history.
            decide = page.locator("form.decide")
            decide.get_by_role("radio", name="confirmed").check()
            decide.get_by_label("Rationale (required)").fill(RATIONALE)
            decide.get_by_role("button", name="Record the decision").click()
            expect(page.locator("form.decide")).to_have_count(0)  # decided: no form left
            history = page.locator("ol.history li").filter(has_text=RATIONALE)
            expect(history).to_have_count(1)
            expect(history).to_contain_text(workspace.user)
            expect(history).to_contain_text("changed the status: open → confirmed")
            expect(page.locator("aside .facts .status")).to_have_text("confirmed")
            assert page.url == finding_url
            shot(page, "05-decided")

            # Back to the filtered view (as bookmarked) and export it as CSV.
            page.goto(filtered_view)
            row = page.locator("table.queue tbody tr").filter(has_text=workspace.finding_record)
            expect(row.locator(".status")).to_have_text("confirmed")
            shot(page, "06-queue-after-decision")
            with page.expect_download() as download:
                page.locator(".exports").get_by_role("link", name="CSV").click()
            exported = ARTIFACTS / "export.csv"
            download.value.save_as(exported)
            assert download.value.suggested_filename.endswith(".csv")
        finally:
            shot(page, "99-last")
            browser.close()

    with exported.open(newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert {r["kind"] for r in table} == {"violation"}, table
    assert len(table) == len(kinds)
    [decided] = [r for r in table if r["record_id"] == workspace.finding_record]
    assert decided["url"] == finding_url
    assert decided["status"] == "confirmed"
    assert decided["decision_rationale"] == RATIONALE
    assert decided["decided_by"] == workspace.user
    assert "2752 (2024)" in decided["citations"]
