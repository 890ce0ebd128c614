"""``make demo``: start ``ewatch up``, push the sample feed, show the findings.

In a terminal the stack keeps running afterwards so you can look around
(Ctrl-C stops it); in a non-interactive run it stops once the demo is shown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from rich.console import Console

from services.cli import client
from services.settings import get_settings


def main() -> int:
    out = Console(stderr=True)
    settings = get_settings()
    out.print("[bold]Embargo Watch demo[/bold]: starting the stack (ewatch up)…")
    stack = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "up"], start_new_session=True
    )
    code = 1
    try:
        code = client.demo(client.default_url(settings), timeout=120, out=out)
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
