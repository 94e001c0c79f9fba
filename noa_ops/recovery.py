"""What a deploy does when its release fails the health gate: the same for every target.

Without --no-rollback it applies the last release that passed its gate (not the failed one) and
exits non-zero either way, saying whether the environment is back on a good release.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, Protocol, TypeVar

from invoke.exceptions import Exit

from . import releases


class Result(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def unhealthy(self) -> tuple[str, ...]: ...


R = TypeVar("R", bound=Result)


def recover(env_name: str, target: str, release_id: str, failed: str, *, rollback: bool,
            roll_back_to: Callable[[str], R], show_failure: Callable[[R], None], good_word: str) -> NoReturn:
    """Roll back from the failed release `release_id` (unless told not to), then exit non-zero.

    `failed` is the one-line reason the release failed; `good_word` is what a good release is on
    this target ("healthy" for compose, "ready" for Kubernetes).
    """
    if not rollback:
        raise Exit(f"{failed}; not rolled back (--no-rollback): `invoke rollback --env {env_name}` "
                   f"restores the last good release")
    try:
        good = releases.rollback_target(releases.history(env_name, target),
                                        releases.target_release_ids(env_name, target), away_from=release_id)
    except ValueError as error:
        raise Exit(f"{failed}; {error}, so nothing to roll back to: fix it (see above) and deploy "
                   f"again") from None
    restored = roll_back_to(good)
    if restored.ok:
        raise Exit(f"{failed}; rolled back to {good}, which is {good_word} (see above for why it failed)")
    show_failure(restored)
    raise Exit(f"{failed}; the rollback to {good} failed too ({', '.join(restored.unhealthy)}): "
               f"see `invoke logs --env {env_name}` and `invoke status --env {env_name}`")
