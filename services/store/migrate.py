"""Running Alembic from code: ``ewatch db upgrade`` and the test fixtures."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from services.core.resources import ROOT
from services.store.db import normalise_url


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation would eat a literal %; URLs may carry %-escapes.
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations have drifted apart."""
    command.check(alembic_config(url))


def current(url: str) -> None:
    command.current(alembic_config(url), verbose=False)
