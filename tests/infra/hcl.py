"""Terraform modules parsed with python-hcl2, as plain dicts the wiring tests can walk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from tests.conftest import ROOT

INFRA = ROOT / "infra"
CLOUDS = ("aws", "azure", "gcp")
_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


@dataclass(frozen=True)
class Module:
    """Every block of the .tf files of one directory, merged."""

    path: Path
    blocks: dict[str, list[Any]]

    def text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.path.glob("*.tf")))

    def named(self, kind: str) -> dict[str, Any]:
        """`variable`/`output`/`module` blocks by name."""
        found: dict[str, Any] = {}
        for entry in self.blocks.get(kind, []):
            found.update(entry)
        return found

    def resources(self, rtype: str, kind: str = "resource") -> dict[str, Any]:
        """Resources (or data sources) of one type, by name."""
        found: dict[str, Any] = {}
        for entry in self.blocks.get(kind, []):
            found.update(entry.get(rtype, {}))
        return found

    def resource(self, rtype: str, name: str, kind: str = "resource") -> dict[str, Any]:
        resources = self.resources(rtype, kind)
        assert name in resources, f"{self.path.name}: no {kind} {rtype}.{name} (has {sorted(resources)})"
        return resources[name]

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for entry in self.blocks.get("locals", []):
            merged.update(entry)
        return merged

    def default(self, variable: str) -> Any:
        return self.named("variable")[variable].get("default")


@cache
def module(path: str) -> Module:
    """The module in infra/<path> (e.g. "aws", "examples/gcp")."""
    directory = INFRA / path
    files = sorted(directory.glob("*.tf"))
    assert files, f"no .tf files in {directory}"
    blocks: dict[str, list[Any]] = {}
    for file in files:
        for kind, entries in parse(file).items():
            blocks.setdefault(kind, []).extend(entries)
    return Module(directory, blocks)


def one(block: Any) -> dict[str, Any]:
    """A nested block python-hcl2 gives as a one-element list."""
    assert isinstance(block, list) and len(block) == 1, f"expected one block, found {block!r}"
    return block[0]


def dynamic(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The `dynamic "<name>"` block of a resource body."""
    for entry in body.get("dynamic", []):
        if name in entry:
            return entry[name]
    raise AssertionError(f"no dynamic {name!r} block in {sorted(body)}")


def assigned_kubebill_names(text: str) -> set[str]:
    """Every KUBEBILL_* name used as a key (`KUBEBILL_X = ...` or `key = "KUBEBILL_X"`) in Terraform text."""
    keys = set(re.findall(r"\b(KUBEBILL_[A-Z0-9_]+)\s*=(?!=)", text))
    keys |= set(re.findall(r"\bkey\s*=\s*\"(KUBEBILL_[A-Z0-9_]+)\"", text))
    return keys
