"""Per projection, how many events its projector has set aside as dead letters since it
started (`paystream_projection_dead_letters_total`), from the same scrapes as the rest
of `top`'s frame."""

from __future__ import annotations

from collections.abc import Iterable

from scripts.top.samples import series
from scripts.top.scrape import Scrape

DEAD_LETTERS = "paystream_projection_dead_letters_total"


def dead_letters(scrapes: Iterable[Scrape]) -> dict[str, int]:
    """Projection -> dead letters counted by its running projector(s); only those above 0."""
    counted: dict[str, int] = {}
    for scrape in scrapes:
        for labels, value in series(scrape.samples or {}, DEAD_LETTERS):
            projection = labels.get("projection", "?")
            counted[projection] = counted.get(projection, 0) + int(value)
    return {projection: count for projection, count in sorted(counted.items()) if count}
