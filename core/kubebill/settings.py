"""Every ``KUBEBILL_*`` variable, read and validated once by ``Settings.from_env()``.

A bad value fails at start with a `ConfigError` naming the variable and what it accepts. Each field
declares its variable, default and one-line doc in its metadata; the README table is generated from
them (``kubebill.settings.markdown_table()``, checked by a test).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kubebill.errors import ConfigError

_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_SIZE_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}
# The least process budget KUBEBILL_MEMORY_LIMIT takes: DuckDB gets 60% of it, and a day of 1k bill lines on 2
# threads ran out of memory at 30MB (17 MiB to DuckDB) and merged at 40MB; Lambda's own least memory is 128 MB.
MIN_MEMORY = "64MB"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("true or false")


def parse_duration(text: str) -> timedelta:
    """`30s`, `10m`, `1h`, `1d`."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError("a positive duration such as 30s, 10m, 1h or 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def _duration_text(text: str) -> str:
    parse_duration(text)
    return text.strip()


def size_bytes(text: str) -> int | None:
    """Bytes of a size such as `512MB`, `1GB`, `1.5GiB` (decimal and binary units), None if it is not one."""
    found = _SIZE.match(text.strip())
    return int(float(found[1]) * _SIZE_UNITS[found[2].lower()]) if found else None


def _size_text(text: str) -> str:
    """A memory size DuckDB accepts, at least MIN_MEMORY: `512MB`, `1GB`, `1.5GiB`."""
    size = size_bytes(text)
    if size is None:
        raise ValueError("a size such as 512MB or 1GB")
    if size < (size_bytes(MIN_MEMORY) or 0):
        raise ValueError(f"a size of at least {MIN_MEMORY}, such as 512MB or 1GB")
    return text.strip().replace(" ", "")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return value

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"a number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"a number from {low} to {high}")
        return value

    return parse


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError("one of " + ", ".join(choices))
        return value

    return parse


def _prefix(text: str) -> str:
    value = text.strip().strip("/")
    if not value or not re.fullmatch(r"[A-Za-z0-9._\-/=]+", value):
        raise ValueError("a non-empty key prefix of letters, digits and . _ - / =")
    return value


def _object_key(text: str) -> str:
    value = text.strip().lstrip("/")
    if not value or value.endswith("/") or any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError("an object key such as cost-analysis/result.csv")
    return value


def _cluster(text: str) -> str:
    value = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,252}", value):
        raise ValueError("a cluster name of letters, digits, '.', '_' and '-'")
    return value


def _ncrontab(text: str) -> str:
    from kubebill.schedule import Cron  # the one reader of NCRONTAB fields, by range

    value = " ".join(text.split())
    try:
        Cron.parse(value)
    except ValueError as exc:
        raise ValueError(f"a 6-field NCRONTAB expression such as '0 10 0 * * *': {exc}") from None
    return value


def _text(text: str) -> str:
    return text.strip()


def _comma_list(what: str, example: str, valid: Callable[[str], bool]) -> Callable[[str], tuple[str, ...]]:
    """A comma list of distinct items, each checked by `valid`; blanks around items are dropped."""

    def parse(text: str) -> tuple[str, ...]:
        items = [item.strip() for item in text.split(",")]
        if any(not item or not valid(item) for item in items):
            raise ValueError(f"a comma list of {what} such as {example}")
        return tuple(dict.fromkeys(items))

    return parse


_NAMESPACE = re.compile(r"[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?")
_LABEL_KEY = re.compile(r"([A-Za-z0-9][A-Za-z0-9._\-]*/)?[A-Za-z0-9]([A-Za-z0-9._\-]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._\-]{0,61}[A-Za-z0-9])?)?")


def _label_selector(item: str) -> bool:
    key, equals, value = item.partition("=")
    return bool(equals) and bool(_LABEL_KEY.fullmatch(key.strip())) and bool(_LABEL_VALUE.fullmatch(value.strip()))


_namespaces = _comma_list("namespaces", "kube-system,monitoring", lambda item: bool(_NAMESPACE.fullmatch(item)))
_tag_keys = _comma_list(
    "tag keys", "kubernetes.io/namespace,team", lambda item: not re.search(r'["\\,\x00-\x1f]', item)
)


def _labels(text: str) -> tuple[str, ...]:
    """`key=value` pairs, written back without blanks around `=`."""
    items = _comma_list("key=value label selectors", "team=platform,tier=infra", _label_selector)(text)
    return tuple(dict.fromkeys("=".join(part.strip() for part in item.partition("=")[::2]) for item in items))


def _moment(text: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("a UTC date YYYY-MM-DD or an RFC 3339 time such as 2024-05-27T00:00:00Z") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _first_day(text: str) -> date:
    """The UTC day a window starts in."""
    return _moment(text).date()


def _last_day(text: str) -> date:
    """The last UTC day a window ends in (an end at exactly midnight is exclusive)."""
    moment = _moment(text)
    if len(text.strip()) > 10 and moment.time() == time(0, 0):
        return (moment - timedelta(microseconds=1)).date()
    return moment.date()


def _derived(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Values composed from opencost-parquet-exporter / aks-ca-export variables: field -> (value, from what)."""

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    result: dict[str, tuple[str, str]] = {}
    host, port = get("OPENCOST_PARQUET_SVC_HOSTNAME"), get("OPENCOST_PARQUET_SVC_PORT")
    if host or port:
        base = host or "localhost"
        url = base if "://" in base else f"http://{base}"
        result["source_url"] = (f"{url.rstrip('/')}:{port or '9003'}", "OPENCOST_PARQUET_SVC_HOSTNAME/_SVC_PORT")
    if get("AZURE_STORAGE_RESULT_FILE"):
        result["result_csv"] = ("month", "AZURE_STORAGE_RESULT_FILE")
    if get("COST_ANALYSIS_URL"):
        result["source"] = ("aks", "COST_ANALYSIS_URL")
    prefix = get("OPENCOST_PARQUET_FILE_KEY_PREFIX")
    parts = [p for p in prefix.split("/") if p]
    cluster_at = next((i for i, p in enumerate(parts) if p.startswith("cluster=")), None)
    if cluster_at is not None:
        result["cluster"] = (parts[cluster_at][len("cluster=") :], "OPENCOST_PARQUET_FILE_KEY_PREFIX")
        parts = parts[:cluster_at]
    key_prefix = "/".join(parts)
    backend = get("OPENCOST_PARQUET_STORAGE_BACKEND").lower()
    bucket = get("OPENCOST_PARQUET_S3_BUCKET")
    gcs = get("OPENCOST_PARQUET_GCP_BUCKET_NAME")
    container = get("OPENCOST_PARQUET_AZURE_CONTAINER_NAME")
    store = ""
    if bucket and backend in ("", "aws"):
        store = bucket if bucket.startswith("s3://") else f"s3://{bucket}"
    elif gcs and backend in ("", "gcp"):
        store = f"gs://{gcs}"
    elif container and backend in ("", "azure"):
        store = f"az://{container}"
    if store:
        result["store"] = (f"{store.rstrip('/')}/{key_prefix}".rstrip("/"), "OPENCOST_PARQUET_* storage variables")
    elif prefix and not backend:
        local = ("/" if prefix.startswith("/") else "") + key_prefix
        result["store"] = (local or "/", "OPENCOST_PARQUET_FILE_KEY_PREFIX")
    return result


def var(
    name: str,
    default: Any,
    parse: Callable[[str], Any],
    doc: str,
    *,
    aliases: tuple[str, ...] = (),
    derived: str = "",
    secret: bool = False,
) -> Any:
    """Declare a settings field bound to an environment variable.

    `aliases` are other tools' variables read as-is when the variable is absent; `derived` documents a
    value composed from other tools' variables by `_derived` (read after the aliases).
    """
    meta = {"env": name, "parse": parse, "doc": doc, "aliases": aliases, "derived": derived, "secret": secret}
    return field(default=default, metadata=meta)


DEFAULT_AGGREGATE = "cluster,node,namespace,controllerKind,controller,pod,container"


@dataclass(frozen=True)
class Settings:
    """kubebill's configuration. Build it with `from_env`; override fields with `dataclasses.replace`."""

    # where things live
    store: str = var(
        "KUBEBILL_STORE",
        "./kubebill-data",
        _text,
        "store URL: path, file://, s3://, az://, gs://",
        derived="`OPENCOST_PARQUET_S3_BUCKET`/`_GCP_BUCKET_NAME`/`_AZURE_CONTAINER_NAME` + `_FILE_KEY_PREFIX`",
    )
    allocations_prefix: str = var("KUBEBILL_ALLOCATIONS_PREFIX", "allocations", _prefix, "prefix of allocation exports")
    billing_prefix: str = var(
        "KUBEBILL_BILLING_PREFIX", "billing", _prefix, "prefix the cloud billing exports write under"
    )
    results_prefix: str = var("KUBEBILL_RESULTS_PREFIX", "results", _prefix, "prefix of merge results and state")
    # logging
    log_format: str = var(
        "KUBEBILL_LOG_FORMAT", "text", _one_of("text", "json"), "log lines as text or one JSON object each"
    )
    log_level: str = var(
        "KUBEBILL_LOG_LEVEL", "info", _one_of("debug", "info", "warning", "error"), "minimum log level"
    )
    # export (cluster side)
    source: str = var(
        "KUBEBILL_SOURCE",
        "opencost",
        _one_of("opencost", "kubecost", "aks"),
        "allocation API the export reads",
        derived="`aks` when `COST_ANALYSIS_URL` is set",
    )
    source_url: str | None = var(
        "KUBEBILL_SOURCE_URL",
        None,
        _text,
        "base URL of the allocation API (e.g. http://opencost.opencost:9003)",
        aliases=("COST_ANALYSIS_URL",),
        derived="`http://<OPENCOST_PARQUET_SVC_HOSTNAME>:<OPENCOST_PARQUET_SVC_PORT>` (localhost, 9003)",
    )
    cluster: str | None = var(
        "KUBEBILL_CLUSTER",
        None,
        _cluster,
        "cluster name written into every allocation row",
        derived="the `cluster=<name>` segment of `OPENCOST_PARQUET_FILE_KEY_PREFIX`",
    )
    step: str = var(
        "KUBEBILL_STEP",
        "1h",
        _duration_text,
        "allocation step (OpenCost `step`); one request per step",
        aliases=("OPENCOST_PARQUET_STEP",),
    )
    aggregate: str = var(
        "KUBEBILL_AGGREGATE",
        DEFAULT_AGGREGATE,
        _text,
        "OpenCost `aggregate` properties",
        aliases=("OPENCOST_PARQUET_AGGREGATE",),
    )
    include_idle: bool = var(
        "KUBEBILL_INCLUDE_IDLE",
        True,
        parse_bool,
        "OpenCost `includeIdle` (Kubecost `idle`)",
        aliases=("OPENCOST_PARQUET_INCLUDE_IDLE",),
    )
    idle_by_node: bool = var(
        "KUBEBILL_IDLE_BY_NODE", True, parse_bool, "OpenCost `idleByNode`", aliases=("OPENCOST_PARQUET_IDLE_BY_NODE",)
    )
    share_idle: bool = var("KUBEBILL_SHARE_IDLE", False, parse_bool, "OpenCost `shareIdle`")
    resolution: str | None = var(
        "KUBEBILL_RESOLUTION",
        None,
        _duration_text,
        "OpenCost `resolution` (e.g. 1m)",
        aliases=("OPENCOST_PARQUET_RESOLUTION",),
    )
    accumulate: str | None = var(
        "KUBEBILL_ACCUMULATE", None, _text, "OpenCost `accumulate`", aliases=("OPENCOST_PARQUET_ACCUMULATE",)
    )
    filter: str | None = var("KUBEBILL_FILTER", None, _text, "OpenCost `filter` expression")
    export_from: date | None = var(  # noqa: RUF009 - a declared field, like every other
        "KUBEBILL_EXPORT_FROM",
        None,
        _first_day,
        "first UTC day `kubebill export` pulls when no --date/--from is given (default: yesterday)",
        aliases=("OPENCOST_PARQUET_WINDOW_START",),
    )
    export_to: date | None = var(  # noqa: RUF009
        "KUBEBILL_EXPORT_TO",
        None,
        _last_day,
        "last UTC day of that range, included (default: KUBEBILL_EXPORT_FROM)",
        aliases=("OPENCOST_PARQUET_WINDOW_END",),
    )
    http_connect_timeout: float = var(
        "KUBEBILL_HTTP_CONNECT_TIMEOUT", 5.0, _float_between(0.1, 300), "seconds to connect to a cluster API"
    )
    http_read_timeout: float = var(
        "KUBEBILL_HTTP_READ_TIMEOUT",
        300.0,
        _float_between(0.1, 3600),
        "seconds to wait for a cluster API response",
    )
    http_retry_seconds: float = var(
        "KUBEBILL_HTTP_RETRY_SECONDS",
        120.0,
        _float_between(0, 3600),
        "total time budget for retrying a request",
    )
    export_workers: int | None = var(
        "KUBEBILL_EXPORT_WORKERS",
        None,
        _int_between(1, 64),
        "processes that fetch and parse an export's steps side by side (default: the usable cores; "
        "1: all in the exporting process, the least memory)",
    )
    # merge
    engine: str = var(
        "KUBEBILL_ENGINE",
        "duckdb",
        _one_of("duckdb", "spark"),
        "what runs the merge's SQL stages: embedded DuckDB in the process, or Apache Spark (`kubebill[spark]` and a "
        "JRE; the functions then record the changed days in results/_state/queue.json for the scheduled Spark job)",
    )
    restate_days: int = var("KUBEBILL_RESTATE_DAYS", 3, _int_between(0, 62), "days the catch-up merge re-merges")
    memory_limit: str | None = var(
        "KUBEBILL_MEMORY_LIMIT",
        None,
        _size_text,
        "memory budget of each DuckDB use, at least 64MB: DuckDB gets 60% and spills beyond it (default: Lambda's "
        "memory, the cgroup limit, else a quarter of the machine)",
    )
    threads: int | None = var("KUBEBILL_THREADS", None, _int_between(1, 256), "DuckDB threads (default: all cores)")
    result_csv: str = var(
        "KUBEBILL_RESULT_CSV",
        "off",
        _one_of("off", "day", "month"),
        "CSV beside the Parquet result: none, one per day, or per day and the month composed from them",
        derived="`month` when `AZURE_STORAGE_RESULT_FILE` is set",
    )
    result_csv_file: str | None = var(
        "KUBEBILL_RESULT_CSV_FILE",
        None,
        _object_key,
        "store key that also gets the newest month's CSV (with `KUBEBILL_RESULT_CSV=month`)",
        aliases=("AZURE_STORAGE_RESULT_FILE",),
    )
    split_method: str = var(
        "KUBEBILL_SPLIT_METHOD",
        "opencost-list-cost",
        _one_of("opencost-list-cost", "aws-split-cost"),
        "weights of node lines: OpenCost list cost, or AWS split-cost 9:1 CPU:memory",
    )
    shared_spread: str = var(
        "KUBEBILL_SHARED_SPREAD",
        "none",
        _one_of("none", "weighted", "even"),
        "spread the cluster's __shared__ cost and the shared namespaces' cost over its other namespaces: by their "
        "cost, or evenly",
    )
    # allocation policies (DESIGN 4 Policies): each a stage after the split, recorded in AllocatedMethodDetails
    idle_share: str = var(
        "KUBEBILL_IDLE_SHARE",
        "none",
        _one_of("none", "weighted", "even"),
        "hand each __idle__ slice to the namespaces running in its scope: by their cost, or evenly",
    )
    idle_share_scope: str = var(
        "KUBEBILL_IDLE_SHARE_SCOPE",
        "node",
        _one_of("node", "cluster"),
        "scope of idle sharing: the slice's node (its bill line), or its cluster and day",
    )
    shared_namespaces: tuple[str, ...] = var(
        "KUBEBILL_SHARED_NAMESPACES",
        (),
        _namespaces,
        "namespaces whose cost is spread over the others of their cluster (e.g. kube-system,monitoring)",
    )
    shared_labels: tuple[str, ...] = var(
        "KUBEBILL_SHARED_LABELS",
        (),
        _labels,
        "pod labels (key=value) whose pods' cost is spread like a shared namespace's (e.g. team=platform)",
    )
    namespace_tags: tuple[str, ...] = var(
        "KUBEBILL_NAMESPACE_TAGS",
        (),
        _tag_keys,
        "bill tag keys whose value names a namespace: a line outside every cluster carrying one goes to it",
    )
    cluster_tags: tuple[str, ...] = var(
        "KUBEBILL_CLUSTER_TAGS",
        (),
        _tag_keys,
        "bill tag keys whose value names the cluster of such a line (else spread over the namespace's clusters)",
    )
    allocation_source: str = var(
        "KUBEBILL_ALLOCATION_SOURCE",
        "auto",
        _one_of("export", "cloud", "auto"),
        "whose split wins per cluster-day: the allocation export, the cloud's own (AWS split cost allocation data, "
        "GKE cost allocation), or auto (the export where one covers the cluster and day, else the cloud's)",
    )
    # timers (Azure reads these in its NCRONTAB bindings; AWS/GCP schedules are set by Terraform)
    export_schedule: str = var(
        "KUBEBILL_EXPORT_SCHEDULE", "0 10 0 * * *", _ncrontab, "when the daily export runs (6-field NCRONTAB, UTC)"
    )
    catch_up_schedule: str = var(
        "KUBEBILL_CATCH_UP_SCHEDULE", "0 40 0 * * *", _ncrontab, "when the catch-up merge runs (6-field NCRONTAB, UTC)"
    )
    # metrics and reports
    tenant_id: str = var("KUBEBILL_TENANT_ID", "", _text, "tenant_id label on every metric family")
    hash_pod_names: bool = var(
        "KUBEBILL_HASH_POD_NAMES", False, parse_bool, "replace pod/container names by a stable short hash"
    )
    metrics_top_pods: int = var("KUBEBILL_METRICS_TOP_PODS", 20, _int_between(0, 10000), "pods in the top-N pod metric")
    metrics_mode: str = var("KUBEBILL_METRICS_MODE", "total", _one_of("total", "rate"), "cost per window or per hour")
    metrics_compat: bool = var(
        "KUBEBILL_METRICS_COMPAT",
        False,
        parse_bool,
        "also emit cloudtuner_kubecost_* and kube_cost_* families",
    )
    metrics_token: str | None = var(
        "KUBEBILL_METRICS_TOKEN", None, _text, "bearer token the metrics endpoint requires", secret=True
    )
    pushgateway_url: str | None = var("KUBEBILL_PUSHGATEWAY_URL", None, _text, "push metrics here after each merge")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every variable (and its aliases) from `env` (default: the process environment)."""
        import os

        source = os.environ if env is None else env
        derived = _derived(source)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            meta = f.metadata
            candidates = [(name, source.get(name)) for name in (meta["env"], *meta["aliases"])]
            if f.name in derived:
                candidates.append((derived[f.name][1], derived[f.name][0]))
            for name, raw in candidates:
                if raw is None or raw.strip() == "":
                    continue
                try:
                    values[f.name] = meta["parse"](raw)
                except ValueError as exc:
                    shown = "***" if meta["secret"] else repr(raw)
                    raise ConfigError(f"{name}={shown}: expected {exc}") from None
                break
        settings = cls(**values)
        if (settings.shared_namespaces or settings.shared_labels) and settings.shared_spread == "none":
            raise ConfigError(
                "KUBEBILL_SHARED_NAMESPACES/KUBEBILL_SHARED_LABELS: expected KUBEBILL_SHARED_SPREAD=weighted or "
                "even to spread them by, found none"
            )
        return settings

    @property
    def step_delta(self) -> timedelta:
        return parse_duration(self.step)

    def __repr__(self) -> str:
        """The fields as a dataclass shows them, with URL credentials (KUBEBILL_SOURCE_URL's userinfo) and
        secret values hidden: a repr ends up in logs and tracebacks."""
        from kubebill.sources.http import redact  # imports this module: not at the top

        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            hidden = f.metadata["secret"] and value is not None
            shown.append(f"{f.name}={('***' if hidden else value)!r}")
        return redact(f"{type(self).__name__}({', '.join(shown)})")


def variables() -> list[dict[str, Any]]:
    """Every variable with its field, default, aliases and doc (for docs and tests)."""
    rows = []
    for f in dataclasses.fields(Settings):
        rows.append(
            {
                "env": f.metadata["env"],
                "field": f.name,
                "default": f.default,
                "aliases": f.metadata["aliases"],
                "derived": f.metadata["derived"],
                "doc": f.metadata["doc"],
            }
        )
    return rows


def markdown_table() -> str:
    """The README's table of variables."""
    lines = ["| variable | default | aliases | meaning |", "|---|---|---|---|"]
    for row in variables():
        default = "" if row["default"] in (None, ()) else f"`{row['default']}`"
        aliases = ", ".join([*(f"`{a}`" for a in row["aliases"]), *([row["derived"]] if row["derived"] else [])])
        lines.append(f"| `{row['env']}` | {default} | {aliases} | {row['doc']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
