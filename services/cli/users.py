"""``ewatch users …``: the review workspace's people, their roles, regimes and API tokens.

Every act is written to the audit log with the operating-system user who ran it.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from services.cli.common import cli_actor, err, fail, out, session_scope
from services.core.review import Role
from services.store import rulesets, users

app = typer.Typer(
    help="Review workspace users: add, list, disable, reset passwords, API tokens.",
    no_args_is_help=True,
)

RegimeOption = Annotated[
    list[str] | None,
    typer.Option("--regime", help="a regime id (HT, LY, …) the user works; repeat for more"),
]


@contextmanager
def _acting() -> Iterator[Session]:
    """A session for one act on users, committed on success; a refused act is one line."""
    try:
        with session_scope() as session:
            yield session
    except users.UserError as exc:
        raise fail(str(exc)) from None


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise fail("the two passwords differ")
    return first


@app.command("add")
def add(
    name: str,
    role: Annotated[Role, typer.Option(help="reviewer | lead | auditor | admin")],
    regime: RegimeOption = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin's first line")
    ] = False,
) -> None:
    """Add a user (the password is asked for, or read from stdin)."""
    password = _password(password_stdin)
    with _acting() as session:
        account = users.add_user(
            session,
            name,
            role,
            regime or [],
            password,
            cli_actor(),
            known_regimes=rulesets.regime_ids(session),
        )
    scope = "all regimes" if account.sees_all else ", ".join(account.regimes)
    err.print(f"added {account.name} ({account.role.value}; {scope})")


@app.command("list")
def list_() -> None:
    """Every user: role, regimes, live API tokens, disabled or not."""
    with session_scope() as session:
        rows = users.list_users(session)
    table = Table("name", "role", "regimes", "tokens", "created (UTC)", "disabled (UTC)")
    for account, live in rows:
        table.add_row(
            account.name,
            account.role.value,
            "all" if account.sees_all else " ".join(account.regimes),
            str(live),
            f"{account.created_at:%Y-%m-%d %H:%M}",
            f"{account.disabled_at:%Y-%m-%d %H:%M}" if account.disabled_at else "",
        )
    out.print(table)


@app.command("disable")
def disable(name: str) -> None:
    """Disable a user: their sessions end and their API tokens stop working at once."""
    with _acting() as session:
        users.disable_user(session, name, cli_actor())
    err.print(f"disabled {name}; their sessions are ended")


@app.command("reset-password")
def reset_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin's first line")
    ] = False,
) -> None:
    """Set a new password; the user's sessions end."""
    password = _password(password_stdin)
    with _acting() as session:
        users.reset_password(session, name, password, cli_actor())
    err.print(f"new password set for {name}; their sessions are ended")


@app.command("token")
def token(
    name: str,
    label: Annotated[str, typer.Option(help="what the token is for")] = "",
) -> None:
    """Issue a personal API token (Authorization: Bearer …). It is shown once, here."""
    with _acting() as session:
        token_id, secret = users.issue_token(session, name, label, cli_actor())
    err.print(f"token {token_id} for {name} (shown once; only its hash is kept):")
    out.print(secret, markup=False, highlight=False)


@app.command("tokens")
def tokens(name: str) -> None:
    """A user's API tokens (never the tokens themselves)."""
    with _acting() as session:
        rows = users.tokens(session, name)
    table = Table("id", "label", "created (UTC)", "last used (UTC)", "revoked (UTC)")
    for t in rows:
        table.add_row(
            str(t.id),
            t.label,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
            f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "",
        )
    out.print(table)


@app.command("revoke-token")
def revoke_token(token_id: int) -> None:
    """Revoke an API token by its id (see `ewatch users tokens NAME`)."""
    with _acting() as session:
        name = users.revoke_token(session, token_id, cli_actor())
    err.print(f"revoked token {token_id} of {name}")
