"""What the matcher and ``ewatch screen`` screen with: the rules, the list and the annex of
parties suspected of conflict-related sexual violence.

Resolved once at start-up into an immutable screening
:class:`~services.core.context.Context`. The matcher reads the active
ruleset version, the current list version and the active annex from PostgreSQL;
``ewatch screen`` reads files (by default the ones shipped in the repository).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from services.core import names, resources, rules
from services.core.context import Context
from services.core.rules import Ruleset
from services.core.sanctions_list import SanctionsList
from services.core.sexual_violence_annex import Annex, AnnexIndex, parse_annex
from services.core.un_xml import parse_list
from services.store import crsv_annexes, rulesets, sanctions

log = logging.getLogger(__name__)
SHIPPED_LIST = "un-consolidated-2024-09-26.xml"
SHIPPED_ANNEX = "crsv/S-2025-389.yaml"


def shipped_list_path() -> Path:
    return resources.data_path(SHIPPED_LIST)


def read_list(path: Path | None = None) -> SanctionsList:
    return parse_list((path or shipped_list_path()).read_bytes())[0]


def shipped_annex_path() -> Path:
    return resources.data_path(SHIPPED_ANNEX)


def read_annex(path: Path | None = None) -> Annex:
    return parse_annex((path or shipped_annex_path()).read_bytes())


def context_for(
    ruleset: Ruleset, sanctions_list: SanctionsList | None, annex: Annex | None = None
) -> Context:
    index = names.NameIndex.build(sanctions_list.parties) if sanctions_list else None
    return Context(
        ruleset=ruleset,
        designated=index,
        list_version=sanctions_list.version if sanctions_list else None,
        threshold=names.DEFAULT_THRESHOLD,
        near_miss_floor=names.NEAR_MISS_FLOOR,
        algorithm=names.ALGORITHM_VERSION,
        sexual_violence=AnnexIndex.build(annex) if annex else None,
    )


def context_from_files(
    rules_dir: Path | None, list_path: Path | None, annex_path: Path | None = None
) -> Context:
    return context_for(
        rules.load_directory(rules_dir), read_list(list_path), read_annex(annex_path)
    )


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
    if crsv_annexes.active(session) is None:
        path = shipped_annex_path()
        annex = crsv_annexes.import_annex(session, path.read_bytes(), str(path)).annex
        said.append(
            f"imported the shipped annex {annex.symbol}, {annex.extent} (newer: ewatch crsv import)"
        )
    return said


@dataclass(frozen=True, slots=True)
class Versions:
    """Which rules, list and annex are in force: what a running matcher compares with what
    it screens with, to switch without a restart."""

    ruleset: int | None
    sanctions_list: str | None
    annex: str | None

    @classmethod
    def of(cls, context: Context) -> Versions:
        annex = context.sexual_violence.annex.version if context.sexual_violence else None
        return cls(context.ruleset.version, context.list_version, annex)


def versions_in_force(session: Session) -> Versions:
    """Cheap look-ups: the active ruleset, the newest list, the active annex."""
    return Versions(
        rulesets.active_version(session),
        sanctions.current_version(session),
        crsv_annexes.active_version(session),
    )


def context_from_database(
    session: Session, *, ruleset_version: int | None = None, list_version: str | None = None
) -> Context:
    """The active rules, the newest list and the active annex (the shipped one if none is
    imported), or the ruleset and list versions named (``ewatch rescreen``).

    Raises :class:`~services.store.rulesets.RulesetNotFound` and
    :class:`~services.store.sanctions.ListVersionNotFound` for versions not stored.
    """
    annex = crsv_annexes.load_active(session) or read_annex()
    listed = (
        sanctions.load_current(session)
        if list_version is None
        else sanctions.load_version(session, list_version)
    )
    return context_for(rulesets.ruleset(session, ruleset_version), listed, annex)
