"""How CPU time grows with the input: the guard against scans that turn quadratic on hostile input."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def growth_ratio(work: Callable[[Any], object], make: Callable[[int], Any], n: int = 4000) -> float:
    """CPU time of `work` on `make(4n)` over its CPU time on `make(n)`, best of three: about 4 when
    linear, 16 when quadratic. CPU time, not wall time: on a busy machine other processes' turns
    are not ours, but shared caches still stretch them, hence the wide margin callers leave."""
    def timed(size: int) -> float:
        best = float("inf")
        for _ in range(3):
            source = make(size)
            started = time.process_time()
            work(source)
            best = min(best, time.process_time() - started)
        return best
    return timed(4 * n) / (timed(n) + 0.005)  # the constant: a busy machine's jitter on small times
