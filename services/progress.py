"""How far ingest and the matcher have got: the one contract ``ewatch up``'s drain reads.

Two versioned JSON objects, defined only here and parsed only by :meth:`from_json`:

- the matcher serves :class:`MatcherProgress` at ``GET /progress`` while it runs:
  ``{"schema": "matcher-progress.v1", "handled": 1500}``;
- ingest, which stops before the drain begins and so cannot answer then, leaves
  :class:`IngestProgress` in its data directory as it stops:
  ``{"schema": "ingest-progress.v1", "published": {"0": 374, "1": 380}}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

log = logging.getLogger(__name__)

#: Where the matcher serves its progress.
PROGRESS_PATH = "/progress"


@dataclass(frozen=True, slots=True)
class MatcherProgress:
    """Messages the matcher has screened or rejected since it started."""

    SCHEMA: ClassVar[str] = "matcher-progress.v1"
    handled: int

    def to_json(self) -> bytes:
        return orjson.dumps({"schema": self.SCHEMA, "handled": self.handled})

    @classmethod
    def from_json(cls, raw: bytes) -> MatcherProgress:
        """Raises ValueError unless ``raw`` is this schema's JSON."""
        return cls(_count(_object(raw, cls.SCHEMA).get("handled"), cls.SCHEMA))


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """Per partition of the transfers topic, the highest offset Kafka acknowledged for a
    record ingest published."""

    SCHEMA: ClassVar[str] = "ingest-progress.v1"
    FILE: ClassVar[str] = "ingest-progress.json"
    published: dict[int, int]

    @property
    def records(self) -> int:
        """Records published, on a topic that was empty when ingest started (offsets from 0)."""
        return sum(offset + 1 for offset in self.published.values())

    def to_json(self) -> bytes:
        published = {str(p): offset for p, offset in sorted(self.published.items())}
        return orjson.dumps({"schema": self.SCHEMA, "published": published})

    @classmethod
    def from_json(cls, raw: bytes) -> IngestProgress:
        """Raises ValueError unless ``raw`` is this schema's JSON."""
        published = _object(raw, cls.SCHEMA).get("published")
        if not isinstance(published, dict) or not all(p.isdigit() for p in published):
            raise ValueError(f"{cls.SCHEMA}: 'published' must map partitions to offsets")
        return cls({int(p): _count(offset, cls.SCHEMA) for p, offset in published.items()})

    @classmethod
    def path(cls, data_dir: Path) -> Path:
        return data_dir / cls.FILE

    def leave(self, data_dir: Path) -> None:
        """Write this into ``data_dir``; never raises. Without that directory no
        ``ewatch up`` (which creates it) is waiting for the file, so nothing is written."""
        if not data_dir.is_dir():
            return
        try:
            self.path(data_dir).write_bytes(self.to_json())
        except OSError as exc:
            log.warning("could not leave ingest's progress for ewatch up: %s", exc)

    @classmethod
    def left_in(cls, data_dir: Path) -> IngestProgress:
        """What ingest left in ``data_dir``; raises OSError if nothing, ValueError if
        not this schema."""
        return cls.from_json(cls.path(data_dir).read_bytes())


def _object(raw: bytes, schema: str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{schema}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise ValueError(f"{schema}: not such an object: {raw[:200]!r}")
    return data


def _count(value: object, schema: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{schema}: not a count: {value!r}")
    return value
