"""What the matcher and ``ewatch screen`` screen with: the rules and the list.

Resolved once at start-up into an immutable screening
:class:`~services.core.context.Context`. The matcher reads the active
ruleset version and the current list version from PostgreSQL; ``ewatch
screen`` reads files (by default the ones shipped in the repository).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.orm import Session

from services.core import names, resources, rules
from services.core.context import Context
from services.core.rules import Ruleset
from services.core.sanctions_list import SanctionsList
from services.core.un_xml import parse_list
from services.store import rulesets, sanctions

log = logging.getLogger(__name__)
SHIPPED_LIST = "un-consolidated-2024-09-26.xml"


def shipped_list_path() -> Path:
    return resources.data_path(SHIPPED_LIST)


def read_list(path: Path | None = None) -> SanctionsList:
    return parse_list((path or shipped_list_path()).read_bytes())[0]


def context_for(ruleset: Ruleset, sanctions_list: SanctionsList | None) -> Context:
    index = names.NameIndex.build(sanctions_list.parties) if sanctions_list else None
    return Context(
        ruleset=ruleset,
        designated=index,
        list_version=sanctions_list.version if sanctions_list else None,
        threshold=names.DEFAULT_THRESHOLD,
        near_miss_floor=names.NEAR_MISS_FLOOR,
        algorithm=names.ALGORITHM_VERSION,
    )


def context_from_files(rules_dir: Path | None, list_path: Path | None) -> Context:
    return context_for(rules.load_directory(rules_dir), read_list(list_path))


def ensure_defaults(session: Session, rules_dir: Path | None = None) -> list[str]:
    """Load the shipped rules and list if the database has none; say what was done."""
    said = []
    if rulesets.active_version(session) is None:
        loaded = rulesets.load(session, rules_dir or resources.rules_dir(), activate=True)
        said.append(f"loaded the shipped rules as ruleset version {loaded.version}")
    if sanctions.current(session) is None:
        path = shipped_list_path()
        result = sanctions.import_list(
            session, path.read_bytes(), str(path), rulesets.ruleset(session)
        )
        said.append(
            f"imported the shipped UN list {path.name} as list version {result.version}"
            " (newer: ewatch sanctions sync / import)"
        )
    return said


def context_from_database(session: Session) -> Context:
    return context_for(rulesets.ruleset(session), sanctions.load_current(session))
