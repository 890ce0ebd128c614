"""The screening context, and the interface of the designated-list index it may hold."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from services.core.names import DEFAULT_THRESHOLD, NEAR_MISS_FLOOR
from services.core.rules import Ruleset
from services.core.sexual_violence_annex import AnnexIndex


class ListMatch(Protocol):
    """A designated-list entry whose name resembles a party's (see services.core.names)."""

    @property
    def reference_number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def matched_name(self) -> str: ...
    @property
    def matched_on(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def list_type(self) -> str: ...
    @property
    def listed_on(self) -> date | None: ...
    @property
    def features(self) -> Sequence[tuple[str, str, str]]: ...


class DesignatedIndex(Protocol):
    """Finds the list entries whose names resemble a party's, best match first."""

    def search(
        self,
        name: str,
        *,
        country: str | None = None,
        date_of_birth: str | None = None,
        identifiers: Iterable[str] = (),
        party_type: str | None = None,
        limit: int = 5,
    ) -> Sequence[ListMatch]: ...


@dataclass(frozen=True, slots=True)
class Context:
    """What screening decides with: the rules, and the designated list and the annex of
    parties suspected of conflict-related sexual violence if loaded."""

    ruleset: Ruleset
    designated: DesignatedIndex | None = None
    list_version: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    near_miss_floor: float = NEAR_MISS_FLOOR
    algorithm: str = ""
    sexual_violence: AnnexIndex | None = None
