"""Erasure recorded on an aggregate (domains/erasure.py): the personal field reads as the
marker from then on, the record keeps who, why and which key, and a reason must be text
a person can read."""

from __future__ import annotations

import pytest

from domains.accounts.aggregates import Account
from domains.erasure import ERASED_TEXT, InvalidErasure
from domains.payments.aggregates import Payment
from eventstore.personal_data.field_cipher import ERASED

KEY = "6f1c2a4e-0000-4000-8000-000000000001"


def erased_account() -> Account:
    account = Account.open("Erin Quillfeather", "EUR", holder="erin")
    account.close()  # any status: a closed account's history holds her name too
    account.erase_personal_data(KEY, "request 118", "olga")
    return account


def test_an_erased_account_shows_the_marker_and_records_who_and_why() -> None:
    account = erased_account()
    assert account.owner == ERASED_TEXT
    erased = account.collect_events()[-1]
    assert isinstance(erased, Account.PersonalDataErased)
    assert (erased.key_id, erased.reason, erased.erased_by) == (KEY, "request 118", "olga")
    assert "Erin" not in repr(erased.__dict__)  # never what was erased


def test_an_erased_payment_shows_the_marker_and_goes_on() -> None:
    payment = Payment.request(
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
        700,
        "EUR",
        "rent from Erin",
    )
    payment.erase_personal_data(KEY, "request 118", "olga")
    assert payment.reference == ERASED_TEXT
    payment.record_debit()  # the saga never needs the reference
    assert payment.status == "debited"


@pytest.mark.parametrize("reason", ["", "   ", "a\x00b", "x" * 501, 7])
def test_a_reason_that_is_not_readable_text_is_refused(reason: object) -> None:
    account = Account.open("Erin", "EUR", holder="erin")
    with pytest.raises(InvalidErasure):
        account.erase_personal_data(KEY, reason, "olga")
    assert account.owner == "Erin"


def test_the_marker_is_the_one_an_erased_field_opens_as() -> None:
    assert str(ERASED) == ERASED_TEXT
