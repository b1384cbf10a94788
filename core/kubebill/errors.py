"""The few errors kubebill raises on purpose.

`InputError` and its subclasses are the user's to fix (bad data, bad settings, bad URL): the CLI prints
their one-line message and exits 2. Anything else is a bug or an outage and exits 1.
"""

from __future__ import annotations


class KubebillError(Exception):
    """Base of every error kubebill raises on purpose."""


class InputError(KubebillError):
    """Bad input a user can fix: the message names the file/row/column or setting and what was expected."""


class ConfigError(InputError, ValueError):
    """A setting (``KUBEBILL_*`` variable or flag) has a value kubebill does not accept."""


class StoreError(InputError):
    """A store URL cannot be used: unknown scheme, missing bucket/container, refused credentials, no endpoint."""

    def __init__(self, url: str, cause: str) -> None:
        super().__init__(f"{url}: {cause}")
        self.url = url
        self.cause = cause


class PreconditionFailed(KubebillError):
    """A conditional write or delete lost: the object exists (only-if-absent) or its etag changed."""

    def __init__(self, key: str, detail: str = "") -> None:
        super().__init__(f"precondition failed for {key!r}" + (f": {detail}" if detail else ""))
        self.key = key


class SourceError(InputError):
    """A cluster allocation API answered with something kubebill cannot use (empty, non-JSON, error code)."""


class Unreachable(KubebillError):
    """Nothing answers at a source URL (connection refused, name not resolved): exit 1 with the cause."""


class BillingFormatError(InputError):
    """A billing file is not a billing export kubebill reads, or is malformed (names file, row, column)."""


class InvariantViolation(KubebillError):
    """A merge would not sum to the bill; nothing is written. The message names the origin line."""


_DUCKDB_ADVICE = "\n\nPossible solutions:"


def described(exc: BaseException) -> str:
    """`exc` as one line for a log or a terminal, with what to do when it is an outage of the machine's own
    resources: a full temporary folder (the merge's staged bill and DuckDB's spill live there) or DuckDB out of its
    share of the memory."""
    import errno
    import tempfile

    # DuckDB's own advice (`SET threads=X`, …) names settings of a session kubebill opens for the user: ours follow
    text = f"{type(exc).__name__}: {str(exc).split(_DUCKDB_ADVICE, 1)[0].strip()}"
    if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc):
        return (
            f"{text} — the temporary folder {tempfile.gettempdir()} is full: a merge stages its bill lines and"
            " spills there; point TMPDIR at a larger disk, give the function more ephemeral storage, or merge"
            " such days with KUBEBILL_ENGINE=spark"
        )
    if "Out of Memory Error" in str(exc):
        return (
            f"{text} — raise KUBEBILL_MEMORY_LIMIT (or the function's or container's memory it defaults to), or"
            " lower KUBEBILL_THREADS"
        )
    return text
