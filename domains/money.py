"""Money rules shared by every context: whole minor units of an ISO 4217 currency."""

from __future__ import annotations

from domains.currencies import ISO_4217_CODES
from domains.errors import Rejected

# One movement may not exceed a trillion major units of a two-decimal currency;
# a balance must stay inside a signed 64-bit column of every read model.
MAX_AMOUNT = 10**14
MAX_BALANCE = 10**18


class InvalidAmount(Rejected):
    code = "invalid-amount"


class UnsupportedCurrency(Rejected):
    code = "unsupported-currency"


def check_amount(amount: object) -> int:
    """An amount is a positive whole number of minor units, never a float or a bool."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount("amount must be a whole number of minor units", field="amount")
    if amount <= 0:
        raise InvalidAmount("amount must be greater than zero", field="amount")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"amount must not exceed {MAX_AMOUNT} minor units", field="amount")
    return amount


def check_currency(currency: object) -> str:
    """A currency is an ISO 4217 code in circulation, in capitals."""
    if not isinstance(currency, str) or currency not in ISO_4217_CODES:
        raise UnsupportedCurrency(
            f"currency {currency!r} is not an ISO 4217 code", field="currency"
        )
    return currency
