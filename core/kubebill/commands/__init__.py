"""One module per CLI command: `HELP`, `add_arguments(parser)` and `run(args, settings) -> exit code`."""

NAMES = (
    "demo",
    "export",
    "merge",
    "run",
    "handle",
    "report",
    "metrics",
    "serve",
    "simulate",
    "package",
    "prices",
    "estimate",
    "status",
)
