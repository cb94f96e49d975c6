"""Dead letters per projection, from the projectors' scrapes (the console's overview)."""

from __future__ import annotations

from scripts.top.dead_letters import dead_letters
from scripts.top.samples import parse
from scripts.top.scrape import Scrape

GROUP = """
# TYPE paystream_projection_dead_letters_total counter
paystream_projection_dead_letters_total{projection="account_summary"} 2.0
paystream_projection_dead_letters_total{projection="analytics"} 0.0
"""
PAYMENTS = """
# TYPE paystream_projection_dead_letters_total counter
paystream_projection_dead_letters_total{projection="payments"} 1.0
"""


def scrape(service: str, text: str | None) -> Scrape:
    return Scrape(service, "up", parse(text) if text is not None else None, 0.0)


def test_each_projection_with_dead_letters_is_counted_across_projectors() -> None:
    scrapes = [
        scrape("projector-accounts-group", GROUP),
        scrape("projector-payments", PAYMENTS),
        scrape("accounts-api", None),  # down, or no metrics
    ]

    assert dead_letters(scrapes) == {"account_summary": 2, "payments": 1}


def test_none_when_no_projector_set_any_aside() -> None:
    assert dead_letters([scrape("projector-payments", "")]) == {}
