"""What the matcher and ``ewatch screen`` screen with: the rules and the list.

Resolved once at start-up into an immutable screening
:class:`~services.core.screening.Context`.
"""

from __future__ import annotations

from services.core import rules
from services.core.screening import Context
from services.settings import Settings


def load_context(settings: Settings) -> Context:
    ruleset = rules.load_directory(settings.rules_dir)
    return Context(ruleset=ruleset)
