"""The progress contract between ingest, the matcher and ``ewatch up``: its JSON shapes,
what each producer puts in them, and what a reader refuses."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from services.metrics import MatcherMetrics
from services.progress import IngestProgress, MatcherProgress


def test_the_matchers_progress_has_the_documented_shape() -> None:
    documented = b'{"schema": "matcher-progress.v1", "handled": 1500}'
    assert MatcherProgress.from_json(documented) == MatcherProgress(1500)
    assert orjson.loads(MatcherProgress(1500).to_json()) == orjson.loads(documented)


def test_ingests_progress_has_the_documented_shape() -> None:
    documented = b'{"schema": "ingest-progress.v1", "published": {"0": 374, "1": 380}}'
    progress = IngestProgress.from_json(documented)
    assert progress == IngestProgress({0: 374, 1: 380})
    assert progress.records == 375 + 381
    assert orjson.loads(progress.to_json()) == orjson.loads(documented)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"handled": 3}',
        b'{"schema": "matcher-progress.v2", "handled": 3}',
        b'{"schema": "matcher-progress.v1", "handled": "3"}',
        b'{"schema": "matcher-progress.v1", "handled": true}',
        b'{"schema": "matcher-progress.v1", "handled": -1}',
        b'{"schema": "ingest-progress.v1", "handled": 3}',
    ],
)
def test_a_reader_refuses_anything_but_the_matchers_schema(raw: bytes) -> None:
    with pytest.raises(ValueError, match=re.escape(MatcherProgress.SCHEMA)):
        MatcherProgress.from_json(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"0": 9}',
        b'{"schema": "ingest-progress.v1", "published": [9]}',
        b'{"schema": "ingest-progress.v1", "published": {"p0": 9}}',
        b'{"schema": "ingest-progress.v1", "published": {"0": 9.5}}',
    ],
)
def test_a_reader_refuses_anything_but_ingests_schema(raw: bytes) -> None:
    with pytest.raises(ValueError, match=re.escape(IngestProgress.SCHEMA)):
        IngestProgress.from_json(raw)


def test_the_matcher_counts_what_it_screened_and_what_it_rejected() -> None:
    metrics = MatcherMetrics()
    metrics.consumed.inc(7)  # read, not yet handled
    metrics.screened.inc(4)
    metrics.rejected.labels("schema").inc()
    metrics.rejected.labels("error").inc(2)
    assert metrics.handled() == 7


def test_ingest_leaves_its_progress_in_the_data_dir(tmp_path: Path) -> None:
    IngestProgress({2: 11}).leave(tmp_path)
    assert IngestProgress.left_in(tmp_path) == IngestProgress({2: 11})


def test_without_a_data_dir_ingest_leaves_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    IngestProgress({2: 11}).leave(missing)
    assert not missing.exists()
    with pytest.raises(FileNotFoundError):
        IngestProgress.left_in(missing)
