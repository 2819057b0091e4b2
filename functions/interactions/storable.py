"""Field types for values the API stores, bounded by what storage and window arithmetic take.
DynamoDB stores numbers of at most 38 digits with magnitudes in [1e-130, 1e126) and items of at
most 400 KB; a value past those made the write fail with a 500 instead of a 422 naming it."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

MAX_STORED_INT = 10**38 - 1
# 50 metadata entries of 128-character keys and 512-character texts, a 50,000-character
# correction and a 4,000-character comment stay under 400 KB even at 4 bytes a character.
MAX_METADATA_TEXT = 512
MAX_CORRECTION = 50_000
# Windows are epoch-aligned datetimes: a timestamp far from today could overflow their arithmetic.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


def _not_an_int(value: object) -> object:
    # A strict float accepts ints: one too large for StoredInt would be stored as a rounded float.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"integers must lie within ±{MAX_STORED_INT} (38 digits)")
    return value


def _storable_float(value: float) -> float:
    if value and not 1e-130 <= abs(value) < 1e126:
        raise ValueError("numbers must be 0 or of magnitude between 1e-130 and 1e126")
    return value


def _one_error(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """One message that states the rule, not one per member of the union."""
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(f"must be a string of at most {MAX_METADATA_TEXT} characters, a boolean, an integer of at "
                         "most 38 digits, or a finite number of magnitude 1e-130 to 1e126 (or 0)") from None


def _iso_text(value: object) -> object:
    # Lax pydantic would read a number as Unix time: the documented form is an ISO 8601 string.
    if not isinstance(value, str):
        raise ValueError("timestamp must be an ISO 8601 string with a UTC offset")
    return value


def _within_range(moment: datetime) -> datetime:
    try:
        inside = EARLIEST <= moment <= LATEST  # compares in UTC, which may overflow
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError(f"timestamp must lie between {EARLIEST.date()} and {LATEST.date()} (UTC)")
    return moment


StoredInt = Annotated[StrictInt, Field(ge=-MAX_STORED_INT, le=MAX_STORED_INT)]
StoredFloat = Annotated[StrictFloat, BeforeValidator(_not_an_int), Field(allow_inf_nan=False),
                        AfterValidator(_storable_float)]
MetadataValue = Annotated[
    Annotated[StrictStr, Field(max_length=MAX_METADATA_TEXT)] | StrictBool | StoredInt | StoredFloat,
    WrapValidator(_one_error),
]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_within_range)]
