"""What a review request can fail with, beyond sign-in and CSRF (services/review/auth.py)."""

from __future__ import annotations


class NotFound(Exception):
    """No such thing for this user: absent, or out of their regimes (never told apart)."""


class Forbidden(Exception):
    """The user's role does not allow the act (403); the message says whose it is."""


class Conflict(Exception):
    """The finding changed since the page was loaded (409); reload and decide again."""
