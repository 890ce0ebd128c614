"""The patterns' tunable values: one table, each with why (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Protocol

from services.core.patterns.facts import Goods


class PatternSettings(Protocol):
    """The ``pattern_*`` fields of ``services.settings.Settings`` (core cannot import it):
    each a field of :class:`PatternRules`, None where the default stands."""

    @property
    def pattern_split_window_days(self) -> int | None: ...
    @property
    def pattern_weapons_threshold(self) -> float | None: ...
    @property
    def pattern_ammunition_threshold(self) -> float | None: ...
    @property
    def pattern_surge_window_days(self) -> int | None: ...
    @property
    def pattern_surge_history_days(self) -> int | None: ...
    @property
    def pattern_surge_factor(self) -> float | None: ...
    @property
    def pattern_surge_min_history(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class PatternRules:
    """The patterns' tunable values. ``docs/architecture.md`` says why these defaults."""

    #: A split shipment's transfers fall within this many consecutive days.
    split_window_days: int = 30
    #: One shipment below it, several together at or above it (weapons, in units).
    weapons_threshold: float = 25
    #: The same, in rounds of small-arms and light-weapons ammunition.
    ammunition_threshold: float = 1000
    #: A surge is what a party received in this many consecutive days…
    surge_window_days: int = 30
    #: …against what it received in this many days before them…
    surge_history_days: int = 365
    #: …when at least this many times its mean per window over that history…
    surge_factor: float = 5.0
    #: …with at least this many transfers in that history (else there is no history)…
    surge_min_history: int = 3
    # …and at least the split threshold of the goods in the window: a quantity worth a look.

    def __post_init__(self) -> None:
        for name in ("split_window_days", "surge_window_days", "surge_history_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 day")
        if self.weapons_threshold <= 0 or self.ammunition_threshold <= 0:
            raise ValueError("thresholds must be positive")
        if self.surge_factor <= 1:
            raise ValueError("surge_factor must be above 1")
        if self.surge_min_history < 1:
            raise ValueError("surge_min_history must be at least 1")

    def threshold(self, goods: Goods) -> float:
        return self.weapons_threshold if goods is Goods.WEAPONS else self.ammunition_threshold

    @classmethod
    def from_settings(cls, settings: PatternSettings) -> PatternRules:
        """These defaults, with each value ``settings`` sets (``pattern_<field>``) instead."""
        given = {
            f.name: value
            for f in fields(cls)
            if (value := getattr(settings, f"pattern_{f.name}")) is not None
        }
        return cls(**given)
