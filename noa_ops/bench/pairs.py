"""A against B in one run: the two sides alternate (A B A B ...), so a drift of the machine over the
run (a warming disk cache, a neighbour's load) reaches both alike, and each ratio is taken within
its own pair."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Sample = TypeVar("Sample")
RATIO_UNIT = "\N{MULTIPLICATION SIGN}"  # a ratio's unit in the table


def alternate(runs: int, first: Callable[[], Sample], second: Callable[[], Sample]) -> tuple[
        list[Sample], list[Sample]]:
    """`runs` pairs, first() then second() in each: (the firsts, the seconds), in order."""
    firsts: list[Sample] = []
    seconds: list[Sample] = []
    for _ in range(runs):
        firsts.append(first())
        seconds.append(second())
    return firsts, seconds


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> tuple[float, ...]:
    """numerator / denominator of each pair (a pair whose denominator is 0 has no ratio)."""
    if len(numerators) != len(denominators):
        raise ValueError(f"{len(numerators)} samples against {len(denominators)}: not pairs")
    return tuple(a / b for a, b in zip(numerators, denominators, strict=True) if b)
