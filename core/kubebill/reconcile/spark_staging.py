"""Where a Spark merge keeps what its executors read and write besides the store's inputs: the staging folder.

On a `local[...]` master the executors are threads of the driver's JVM: the folder is a local temporary one, and
the driver's own files (the staged bill lines, the allocation exports it copied) are read where they are. On a
cluster (EMR Serverless, Dataproc Serverless, Synapse, Databricks) the executors cannot see the driver's disk: the
folder is under the store, `<results>/_state/spark/<run-id>/` as Hadoop names it (`s3a://`, `abfss://`, `gs://`),
the driver's files are uploaded there before Spark reads them, and the driver downloads what it reads back. The
folder is removed when the run ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field

from kubebill.reconcile.spark import hadoop_path
from kubebill.store.base import Store, copy_stream


@dataclass
class Staging:
    """One Spark run's staging folder: `url` as Hadoop names it; on the driver's disk (`local`) or under the
    store (`store`, `prefix`: the folder's key); `workdir` the driver's own scratch folder."""

    url: str
    workdir: str
    local: str | None = None
    store: Store | None = None
    prefix: str = ""
    uploaded: dict[str, str] = field(default_factory=dict)  # driver file -> its URL under the folder

    def path(self, relative: str) -> str:
        """The URL of `relative` (a/b/c) inside the folder."""
        return f"{self.url.rstrip('/')}/{relative}"

    def input(self, path: str, relative: str) -> str:
        """The URL an executor reads the driver's file `path` at: the file itself on a local master, else its copy
        under the folder (uploaded once per run)."""
        if self.store is None:
            return hadoop_path(path)
        if path not in self.uploaded:
            self.store.write_file(f"{self.prefix}/{relative}", path)
            self.uploaded[path] = self.path(relative)
        return self.uploaded[path]

    def scratch(self, relative: str) -> str:
        """A local path for a file the driver writes before Spark reads it (see `input`)."""
        path = os.path.join(self.workdir, "in", relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def fetch(self, relative: str) -> list[str]:
        """The Parquet files Spark wrote under `relative`, as local paths on the driver (downloaded from the store
        when the folder is there); none when Spark wrote none."""
        if self.store is None:
            assert self.local is not None
            folder = os.path.join(self.local, relative)
            names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            return [os.path.join(folder, n) for n in names if n.endswith(".parquet")]
        found = []
        into = os.path.join(self.workdir, "out", relative)
        for info in self.store.list(f"{self.prefix}/{relative}/"):
            if not info.key.endswith(".parquet"):
                continue
            target = os.path.join(into, info.key.rsplit("/", 1)[-1])
            os.makedirs(into, exist_ok=True)
            with self.store.open(info.key) as src, open(target, "wb") as dst:
                copy_stream(src, dst)
            found.append(target)
        return sorted(found)

    def remove(self) -> None:
        """The folder and the driver's scratch gone (a store's objects deleted one by one: its own state)."""
        if self.store is not None:
            for info in list(self.store.list(f"{self.prefix}/")):
                self.store.delete(info.key)
        elif self.local is not None:
            shutil.rmtree(self.local, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


def is_local(master: str | None) -> bool:
    """Whether a Spark master runs its executors in the driver's JVM (`local`, `local[2]`, `local[*, 3]`)."""
    return (master or "").strip().lower().startswith("local")


def staging(
    master: str | None, *, parent: str, store: Store | None = None, store_url: str = "", key: str = ""
) -> Staging:
    """The staging folder of a run on `master`: under `parent` (the driver's disk) on a local master or with no
    store, else at the store's `key` (a folder under the results' state: `<key>/<run-id>`) of the store at
    `store_url`."""
    os.makedirs(parent, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="kubebill-spark-", dir=parent)
    if store is None or is_local(master):
        local = os.path.join(workdir, "staging")
        return Staging(url=hadoop_path(local), workdir=workdir, local=local)
    prefix = f"{key.strip('/')}/{uuid.uuid4().hex}"
    return Staging(url=hadoop_path(f"{store_url.rstrip('/')}/{prefix}"), workdir=workdir, store=store, prefix=prefix)
