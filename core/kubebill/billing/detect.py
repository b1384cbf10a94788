"""Which billing format a file is, from its header (and key), with no user flag.

Formats (``x_BillingFormat``): ``aws-cur`` (legacy CUR), ``aws-cur2`` (CUR 2.0 / Data Exports), ``focus``
(FOCUS 1.0–1.2 from any provider, incl. AWS Data Exports FOCUS tables), ``azure-focus`` (Azure FocusCost export),
``azure-actual``, ``azure-amortized``, ``azure-actual+amortized`` (a paired unit), ``gcp-detailed``,
``gcp-standard``.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from kubebill.billing import aws_cur, azure_exports, focus, gcp_export
from kubebill.billing.common import norm
from kubebill.errors import BillingFormatError

FORMATS = (
    "aws-cur",
    "aws-cur2",
    "focus",
    "azure-focus",
    "azure-actual",
    "azure-amortized",
    "azure-actual+amortized",
    "gcp-detailed",
    "gcp-standard",
)


def azure_kind(key: str, declared: str | None = None) -> str:
    """azure-actual or azure-amortized from the manifest's export type, else from the key."""
    text = (declared or key).lower()
    return "azure-amortized" if "amortized" in text else "azure-actual"


def detect(header: Sequence[str], key: str, *, azure_type: str | None = None) -> str:
    """The format of a file with this header; BillingFormatError naming the file when it is none we read."""
    names = {norm(name) for name in header}
    if focus.is_header(names):
        return "azure-focus" if names & {"xskudetails", "xresourcegroupname", "xbillingprofileid"} else "focus"
    if {"lineitemunblendedcost", "lineitemusagestartdate"} <= names:
        # legacy CUR: `lineItem/…` names, or in parquet snake_case with one `resource_tags_user_…` column per tag
        legacy = any("/" in name for name in header if norm(name) == "lineitemunblendedcost") or (
            "resource_tags" not in header and any(name.startswith("resource_tags_") for name in header)
        )
        return "aws-cur" if legacy else "aws-cur2"
    if gcp_export.is_header(names):
        return "gcp-detailed" if names & {"resourcename", "resourceglobalname"} else "gcp-standard"
    if azure_exports.is_header(names):
        return azure_kind(key, azure_type)
    shown = ", ".join(list(header)[:6]) + (", …" if len(header) > 6 else "")
    raise BillingFormatError(
        f"{key}: unknown header set: expected an AWS CUR/CUR 2.0, Azure cost details, Google billing export or "
        f"FOCUS header, found {len(header)} columns ({shown})"
    )


def module(fmt: str) -> ModuleType:
    """The reader module of a format."""
    if fmt.startswith("aws-cur"):
        return aws_cur
    if fmt in ("focus", "azure-focus"):
        return focus
    if fmt.startswith("azure-"):
        return azure_exports
    if fmt.startswith("gcp-"):
        return gcp_export
    raise BillingFormatError(f"unknown billing format {fmt!r}; expected one of {', '.join(FORMATS)}")


def wanted(fmt: str, header: Sequence[str]) -> list[str]:
    """The header names the format's reader uses (column projection keeps big files cheap)."""
    aliases = module(fmt).ALIASES
    return [
        name
        for name in header
        if norm(name) in aliases or (fmt.startswith("aws-cur") and aws_cur.is_tag_column(name.split("#")[0]))
    ]
