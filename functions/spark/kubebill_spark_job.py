"""The Spark job's entry script (EMR Serverless, Dataproc Serverless, Databricks, Synapse): `kubebill merge --engine
spark` with the job's arguments (e.g. `--store s3://bucket`), settings from `KUBEBILL_*` in the environment.

With no dates the merge takes the days the functions recorded (KUBEBILL_ENGINE=spark) and the days whose inputs
changed; `--date`/`--from`/`--to` in the job arguments pick days instead. Exit status is the CLI's: 0 done, 2 bad
input or settings (one line saying why), so the service marks the run failed.
"""

from __future__ import annotations

import sys


def command(args: list[str]) -> list[str]:
    """The `kubebill` arguments of one run: always a Spark merge, the job's own arguments after it."""
    return ["merge", "--engine", "spark", *args]


if __name__ == "__main__":
    from kubebill.cli import main

    sys.exit(main(command(sys.argv[1:])))
