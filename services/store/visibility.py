"""The territories a finding's visibility is decided with, per ruleset version."""

from __future__ import annotations

from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.core.rules import Ruleset, load_directory, regime_from_dict
from services.core.visibility import Territories
from services.store.models import RulesetVersion

#: Ruleset versions never change once stored, so neither do their territories.
_BY_VERSION: dict[int, Territories] = {}


async def territories(session: AsyncSession, ruleset_version: int) -> Territories:
    """The territories and neighbours of ``ruleset_version``; of the active ruleset when
    that version is not stored (screened from files), of the shipped rules when none is."""
    known = _BY_VERSION.get(ruleset_version)
    if known is not None:
        return known
    documents = await session.scalar(
        select(RulesetVersion.documents).where(RulesetVersion.version == ruleset_version)
    )
    if documents is not None:
        found = _BY_VERSION[ruleset_version] = _of(documents)
        return found
    active = await session.scalar(select(RulesetVersion.documents).where(RulesetVersion.active))
    return _of(active) if active is not None else _shipped()


def _of(documents: dict[str, dict[str, object]]) -> Territories:
    return Territories.of(Ruleset.of(0, (regime_from_dict(d) for d in documents.values())))


@cache
def _shipped() -> Territories:
    return Territories.of(load_directory())
