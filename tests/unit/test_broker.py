"""Broker helpers that need no broker: what they say when none answers."""

from __future__ import annotations

import asyncio

from services.broker import broker_answers
from services.stack.embedded import free_port


def test_a_broker_that_does_not_answer_is_named_in_the_readiness_check() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    answer = asyncio.run(broker_answers(bootstrap, timeout_s=2))
    assert answer.startswith(f"error: the broker at {bootstrap} does not answer")


def test_a_broker_that_accepts_but_never_answers_times_out_with_a_reason() -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (the backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        bootstrap = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        answer = asyncio.run(broker_answers(bootstrap, timeout_s=1))
        assert time.monotonic() - started < 5
    assert answer == f"error: the broker at {bootstrap} does not answer (TimeoutError)"
