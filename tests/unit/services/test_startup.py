"""One-time initialisation retries until it succeeds and reports why it waits."""

from __future__ import annotations

import asyncio

from noa_common.startup import Backoff, StartupState, initialise


def test_retries_until_success_and_reports_the_reason() -> None:
    state = StartupState()
    attempts: list[int] = []
    reasons: list[str] = []

    async def step() -> None:
        attempts.append(1)
        reasons.append(state.reason)
        if len(attempts) < 3:
            raise ConnectionRefusedError("postgres is not up")

    asyncio.run(initialise(state, step, Backoff(first=0.01, maximum=0.02)))
    assert len(attempts) == 3
    assert reasons[1] == "ConnectionRefusedError: postgres is not up"
    assert state.done and state.reason == ""


def test_backoff_grows_to_its_cap() -> None:
    policy = Backoff(first=0.5, factor=2.0, maximum=5.0)
    delays = [policy.first]
    for _ in range(5):
        delays.append(policy.next(delays[-1]))
    assert delays == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_cancellation_stops_the_loop() -> None:
    state = StartupState()

    async def never() -> None:
        raise RuntimeError("down")

    async def run() -> None:
        task = asyncio.create_task(initialise(state, never, Backoff(first=0.01)))
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()

    asyncio.run(run())
    assert not state.done and state.reason == "RuntimeError: down"
