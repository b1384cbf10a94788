"""`kubebill handle`: route one created key, as every blob-created function does."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from kubebill import pipeline
from kubebill.commands import common
from kubebill.settings import Settings
from kubebill.store import open_store

HELP = "route one created key, as every blob-created function does"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the created object key, relative to the store")
    common.add_store(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings = replace(settings, store=common.store_url(args, settings))
    outcome = pipeline.handle_object_created(open_store(settings.store), settings, args.key)
    print(
        json.dumps(
            {
                "key": outcome.key,
                "decision": outcome.decision,
                "days": [d.isoformat() for d in outcome.days],
                "rows": outcome.rows,
                "reason": outcome.reason,
            }
        )
    )
    return 0
