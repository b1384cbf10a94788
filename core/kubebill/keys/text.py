"""Text helpers every cloud's keys share: empty-ish values and JSON objects as the exports spell them."""

from __future__ import annotations

import json
from collections.abc import Mapping


def clean(value: object) -> str | None:
    """`value` as stripped text; None when empty or spelled null/none/nan."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("null", "none", "nan"):
        return None
    return text


def parse_json_object(value: object) -> dict[str, object]:
    """A JSON object from a dict, JSON text, or the Azure form without outer braces; {} when unparsable."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    text = clean(value)
    if text is None:
        return {}
    if not text.startswith("{"):
        text = "{" + text + "}"
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return {str(k): v for k, v in parsed.items()} if isinstance(parsed, dict) else {}
