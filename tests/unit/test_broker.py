"""Broker helpers that need no broker: what they say when none answers."""

from __future__ import annotations

import asyncio

from services.broker import broker_answers
from services.stack.embedded import free_port


def test_a_broker_that_does_not_answer_is_named_in_the_readiness_check() -> None:
    bootstrap = f"127.0.0.1:{free_port()}"  # nothing listens there
    answer = asyncio.run(broker_answers(bootstrap, timeout_s=2))
    assert answer.startswith(f"error: the broker at {bootstrap} does not answer")
