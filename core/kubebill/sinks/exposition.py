"""Prometheus text exposition format 0.0.4: families with HELP/TYPE lines and escaped label values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    """One metric family; `labels` are added to every sample (e.g. tenant_id)."""

    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str | None) -> None:
        self.samples.append(({k: "" if v is None else str(v) for k, v in labels.items()}, float(value)))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render_text(families: Iterable[Family], *, common: Mapping[str, str]) -> bytes:
    """The exposition body; `common` labels go on every sample of every family."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}")
        lines.append(f"# TYPE {family.name} {family.type}")
        seen: set[tuple[tuple[str, str], ...]] = set()
        for labels, value in family.samples:
            merged = {**labels, **common}
            key = tuple(sorted(merged.items()))
            if key in seen:  # duplicate series would make the whole scrape invalid
                continue
            seen.add(key)
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
            lines.append(f"{family.name}{{{text}}} {_number(value)}")
    return ("\n".join(lines) + "\n").encode()
