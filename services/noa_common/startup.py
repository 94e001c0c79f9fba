"""One-time initialisation, retried in the background until it succeeds.

Postgres may come up after the service (compose ordering, a restarted database), so a failed
attempt is logged and retried with backoff; /health/startup turns 200 only after success.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from noa_common.health import describe_error

logger = logging.getLogger("noa.startup")

InitStep = Callable[[], Awaitable[None]]


class StartupState:
    def __init__(self) -> None:
        self.done = False
        self.reason = "starting"

    def waiting(self, reason: str) -> None:
        self.done = False
        self.reason = reason

    def mark_done(self) -> None:
        self.done = True
        self.reason = ""


@dataclass(frozen=True)
class Backoff:
    first: float = 0.5
    factor: float = 2.0
    maximum: float = 5.0

    def next(self, delay: float) -> float:
        return min(delay * self.factor, self.maximum)


async def initialise(state: StartupState, step: InitStep, backoff: Backoff | None = None) -> None:
    """Run ``step`` until it returns; a failure becomes the startup reason, logged when it changes."""
    policy = backoff or Backoff()
    delay = policy.first
    last_reason = ""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure is retried; the reason is reported, not raised
            reason = describe_error(error)
            state.waiting(reason)
            if reason != last_reason:
                logger.warning("startup waiting: %s", reason, extra={"retry_in_s": delay})
                last_reason = reason
            await asyncio.sleep(delay)
            delay = policy.next(delay)
            continue
        state.mark_done()
        logger.info("startup complete")
        return
