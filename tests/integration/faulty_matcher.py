"""``ewatch matcher`` with a bug in its core: screening raises for records whose id starts
with ``crash-``. Run as ``python -m tests.integration.faulty_matcher``; everything else —
Kafka, batches, PostgreSQL, the ledger — is the real matcher's."""

from __future__ import annotations

from services.cli.main import app
from services.core.context import Context
from services.core.findings import Finding
from services.core.transfers import Transfer
from services.matcher import processing

CRASHING = "crash-"
_screen = processing.screen


def _crashing_screen(transfer: Transfer, context: Context) -> list[Finding]:
    if transfer.record_id.startswith(CRASHING):
        raise RuntimeError(f"injected fault while screening {transfer.record_id}")
    return _screen(transfer, context)


if __name__ == "__main__":
    processing.screen = _crashing_screen
    app(["matcher"])
