"""Who is asking, and whether they may: the session cookie, API tokens, CSRF.

A browser signs in and gets a session cookie: ``<session id>.<HMAC of it>``, ``HttpOnly``,
``SameSite=Lax``, ``Secure`` over TLS. The session lives in PostgreSQL
(services/store/access.py) with its CSRF token, which every state-changing form carries
as ``csrf_token`` and every cookie-authenticated API call as the ``X-CSRF-Token`` header.
A script sends ``Authorization: Bearer <token>`` instead and needs no CSRF token: a
browser never adds that header on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from services.settings import Settings
from services.store import access, db
from services.store.audit import Actor
from services.store.users import Account

SESSION_COOKIE = "ewatch_session"
#: Double-submit token of the sign-in form (there is no session yet to hold one).
LOGIN_COOKIE = "ewatch_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotSignedIn(Exception):
    """No valid session or token: 401 for the API, the sign-in page for a page."""


class CsrfRefused(Exception):
    """A state-changing request without its CSRF token (403)."""


@dataclass(frozen=True, slots=True)
class Principal:
    account: Account
    #: "web" for a browser session, "api" for a bearer token.
    via: str
    #: The session's CSRF token; None for a bearer token.
    csrf_token: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.account.id, self.via)


def secret_key(settings: Settings) -> bytes:
    """``EWATCH_REVIEW_SECRET_KEY``, or a key made once and kept under the data directory."""
    if settings.review_secret_key is not None:
        return settings.review_secret_key.get_secret_value().encode()
    path = Path(settings.data_dir) / "review-secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as f:  # whoever creates it first wins; the others read it
                path.chmod(0o600)
                f.write(secrets.token_urlsafe(48))
        except FileExistsError:
            pass
    return path.read_text().strip().encode()


def _mac(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, session_id: str) -> str:
    return f"{session_id}.{_mac(key, session_id)}"


def unsign(key: bytes, cookie: str) -> str | None:
    session_id, _, mac = cookie.rpartition(".")
    if session_id and hmac.compare_digest(mac, _mac(key, session_id)):
        return session_id
    return None


def secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.review_secure_cookies


async def principal(request: Request) -> Principal:
    """The signed-in user of this request, or :class:`NotSignedIn`. A bearer token, when
    sent, is the only credential looked at: a bad one is not rescued by a cookie."""
    deps = request.app.state.deps
    authorization = request.headers.get("authorization")
    async with db.sessions(deps.engine).begin() as session:
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotSignedIn
            account = await access.token_account(session, token.strip())
            if account is None:
                raise NotSignedIn
            return Principal(account, "api", None)
        cookie = request.cookies.get(SESSION_COOKIE)
        session_id = unsign(deps.key, cookie) if cookie else None
        found = await access.session_account(session, session_id) if session_id else None
    if found is None:
        raise NotSignedIn
    return Principal(found[0], "web", found[1])


async def check_csrf(request: Request, who: Principal) -> None:
    """Raise :class:`CsrfRefused` unless a cookie-authenticated state change carries the
    session's CSRF token (form field or header)."""
    if request.method not in UNSAFE_METHODS or who.csrf_token is None:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, who.csrf_token):
        raise CsrfRefused


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def acting(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
    """The signed-in user of a state-changing request whose CSRF token is checked."""
    await check_csrf(request, who)
    return who


#: A route's signed-in user (reading), and one whose request changes state.
Who = Annotated[Principal, Depends(principal)]
Acting = Annotated[Principal, Depends(acting)]
