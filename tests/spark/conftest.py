"""One SparkSession for every Spark test (`local[2]`, bound to 127.0.0.1, UI off, few shuffle partitions): starting
a JVM costs more than most of the tests. Each test module marks itself slow and `xdist_group("spark")`, so the
session starts on one xdist worker only (`--dist loadgroup`); tests elsewhere that merge with KUBEBILL_ENGINE=spark
(tests/functions) import the fixture below, so their merges run in this session too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kubebill.reconcile import spark as spark_engine

CONF = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.ui.showConsoleProgress": "false",
}


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    session = spark_engine.session(master="local[2]", conf=CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
