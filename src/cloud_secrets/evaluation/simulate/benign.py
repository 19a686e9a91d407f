"""The benign background: every actor of the world, hour by hour, streamed in time order."""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable, Iterator
from operator import attrgetter

from .common import DAY, HOUR, Item
from .world import World

Progress = Callable[[int, int], None]  # (hours done, hours total)


def benign_items(
    world: World, seed: int, start: float, days: float, progress: Progress | None = None
) -> Iterator[Item]:
    """All benign documents from `start` for `days`, in time order, with bounded memory.

    Each hour every actor appends its documents to a list, sorted by time; documents that belong to a
    later hour (a pipeline run that crosses the hour) wait for the next round.
    """
    rng = random.Random(f"benign:{seed}")
    end = start + days * DAY
    hours = max(1, round(days * 24))
    pending: list[Item] = []
    by_time = attrgetter("ts")
    for h in range(hours):
        hour_start = start + h * HOUR
        bucket: list[Item] = pending
        for actor in world.actors:
            actor.hour(rng, hour_start, bucket)
        bucket.sort(key=by_time)
        horizon = min(hour_start + HOUR, end)
        cut = bisect_left(bucket, horizon, key=by_time)
        yield from bucket[:cut]
        pending = [item for item in bucket[cut:] if item.ts < end]
        if progress:
            progress(h + 1, hours)
    yield from pending
