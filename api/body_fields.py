"""Request-body fields, documented with the rules the domain enforces.

The domain checks these values itself (its errors are the stable problem types
`invalid-amount`, `unsupported-currency`, ...), so the constraints are stated in the
OpenAPI document only, never enforced a second time by pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr

from domains.accounts.aggregates import MAX_OWNER_LENGTH
from domains.accounts.movements import MAX_ID_LENGTH
from domains.currencies import ISO_4217_CODES
from domains.money import MAX_AMOUNT
from domains.text import MAX_REFERENCE_LENGTH

NOT_BLANK = r"\S"


def documented(**schema: Any) -> Any:
    """A Field whose constraints appear in the JSON schema only."""
    return Field(json_schema_extra=schema)


# JSON Schema counts 10.0 as an integer; the domain takes integer literals only.
Amount = Annotated[
    StrictInt,
    documented(
        minimum=1,
        maximum=MAX_AMOUNT,
        description="Minor units, written as an integer literal (`10`; `10.0` is refused).",
    ),
]
Currency = Annotated[StrictStr, documented(enum=sorted(ISO_4217_CODES))]
Owner = Annotated[StrictStr, documented(pattern=NOT_BLANK, maxLength=MAX_OWNER_LENGTH)]
Reference = Annotated[StrictStr, documented(maxLength=MAX_REFERENCE_LENGTH)]
StepId = Annotated[StrictStr, documented(pattern=NOT_BLANK, maxLength=MAX_ID_LENGTH)]
AccountId = Annotated[StrictStr, documented(format="uuid")]
