"""Every refusal a domain can raise is of exactly one kind (Rejected, Conflict, NotFound
or Forbidden), so the API answers it 422, 409, 404 or 403 without a list of codes to keep."""

from __future__ import annotations

import pytest

import domains.accounts.errors
import domains.money
import domains.payments.errors
from api.commands import domain_errors
from api.problems import Problem
from domains.errors import Conflict, DomainError, Forbidden, NotFound, Rejected

KINDS = {Rejected: 422, Conflict: 409, NotFound: 404, Forbidden: 403}
MODULES = (domains.accounts.errors, domains.payments.errors, domains.money)
REFUSALS = sorted(
    {
        value
        for module in MODULES
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, DomainError)
        and value.__module__.startswith("domains.")
        and not value.__subclasses__()  # raised ones, not the families
    },
    key=lambda kind: kind.code,
)


def test_the_domains_refuse_in_many_ways() -> None:
    assert len(REFUSALS) >= 16


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda kind: kind.code)
def test_each_refusal_has_exactly_one_kind_and_answers_its_status(
    refusal: type[DomainError],
) -> None:
    kinds = [kind for kind in KINDS if issubclass(refusal, kind)]
    assert len(kinds) == 1, f"{refusal.__name__} is of kinds {kinds}"
    with pytest.raises(Problem) as answered, domain_errors():
        raise refusal("refused", field="amount")
    assert (answered.value.status, answered.value.code) == (KINDS[kinds[0]], refusal.code)
    assert answered.value.extra == {"field": "amount"}
