"""Kubernetes resource quantities (`500m`, `2Gi`, `1.5`, `1e3`) as the API server reads them.

A quantity is a signed decimal number with an optional suffix: binary `Ki Mi Gi Ti Pi Ei` (powers of 1024),
decimal `n u m k M G T P E` (powers of 1000; `m` is milli), or an exponent `e3`/`E-2`. Anything else
(`500x`, `1.2.3`, `Gi`, an empty string) is refused with a ValueError saying what was expected.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$")

EXPECTED = "a Kubernetes quantity such as 250m, 1.5, 512Mi or 2G"


def parse_quantity(value: object) -> Decimal:
    """The exact value of a quantity (a YAML number is taken as is); ValueError naming the value otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected {EXPECTED}, found {value!r}")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"expected {EXPECTED}, found {value!r}")
        return Decimal(str(value))
    if not isinstance(value, str):
        raise ValueError(f"expected {EXPECTED}, found {type(value).__name__} {value!r}")
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise ValueError(f"expected {EXPECTED}, found {value!r}")
    number, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise ValueError(f"expected {EXPECTED}, found {value!r}") from None
    if suffix in _BINARY:
        return base * Decimal(1024 ** _BINARY[suffix])
    if len(suffix) > 1:  # an exponent, e3 or E-2 (a lone E is exa)
        return base.scaleb(int(suffix[1:]))
    return base.scaleb(_DECIMAL[suffix])


def cores(value: object) -> float:
    """CPU cores of a quantity (`500m` → 0.5)."""
    return float(parse_quantity(value))


def byte_count(value: object) -> float:
    """Bytes of a quantity (`2Gi` → 2147483648)."""
    return float(parse_quantity(value))
