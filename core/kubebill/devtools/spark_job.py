"""`kubebill package --target spark`: the Spark job artifact, in `<out>/spark/`.

- `kubebill-<version>-py3-none-any.whl`: kubebill itself (Databricks and Synapse install it as a job library, with
  `requirements.txt` for its dependencies);
- `kubebill_spark_job.py`: the entry script every service runs (`kubebill merge --engine spark <job args>`);
- `requirements.txt` + `constraints.txt`: the dependencies pinned from the lock, without Spark (the service's own);
- `kubebill-spark-deps-<arch>.tar.gz`: those dependencies and kubebill as Linux wheels for one Python, unpacked at
  the archive's top level: EMR Serverless and Dataproc Serverless take it as a Spark archive (`spark.archives` /
  `archive_uris` with `#deps`) and put `./deps` on the driver's and executors' PYTHONPATH.

The archive's Python must be the service's (default 3.12: Dataproc Serverless runtime 2.2; EMR Serverless needs
a custom image with it, see infra/aws/README.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

from kubebill import progress
from kubebill.devtools import packaging
from kubebill.errors import InputError

TARGETS = ("spark",)
ENTRY = "kubebill_spark_job.py"
PYTHONS = ("3.12", "3.11", "3.13")
# every store the job may be pointed at; Spark itself (pyspark, py4j) comes with the service
EXTRAS = ("aws", "azure", "gcp")
PROVIDED = frozenset({"pyspark", "py4j"})


def requirements(root: Path) -> list[str]:
    """kubebill's dependencies and every store's extra, pinned from the lock, without what the service provides."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(r for extra in EXTRAS for r in project["optional-dependencies"][extra])]
    names = list(dict.fromkeys(packaging._name(r) for r in wanted))
    names = [n for n in names if n not in packaging.LEFT_OUT and n not in PROVIDED]
    pins = packaging.locked(root)
    missing = [name for name in names if name not in pins]
    if missing:
        raise InputError(
            f"{packaging.LOCK} has no pin for {', '.join(missing)}: regenerate it with .venv/bin/python .ci/lock.py"
        )
    return [f"{name}=={pins[name]}" for name in names]


def requirements_text(pinned: list[str]) -> str:
    """requirements.txt: the lock as constraints (for the transitive pins), then the pinned requirements."""
    return "\n".join([f"-c {packaging.LOCK}", *pinned]) + "\n"


def _wheel(root: Path, into: Path) -> Path:
    """kubebill's wheel, built from a copy of the sources (no build/ or egg-info left in the checkout)."""
    with tempfile.TemporaryDirectory(prefix="kubebill-wheel-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, source / name)
        shutil.copytree(
            root / "core" / "kubebill",
            source / "core" / "kubebill",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
        done = subprocess.run([*command, "-w", str(into), str(source)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pip could not build kubebill's wheel: {done.stderr.strip()[-2000:]}")
    found = sorted(into.glob("kubebill-*.whl"))
    if len(found) != 1:
        raise RuntimeError(f"expected one kubebill wheel in {into}, found {[p.name for p in found]}")
    return found[0]


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Reproducible members: no owner, no timestamps."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def _tar(folder: Path, target: Path) -> None:
    with tarfile.open(target, "w:gz", compresslevel=6) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(folder).as_posix(), filter=_reset)


def build(
    out: Path, *, architectures: Iterable[str] = ("x86_64",), python: str = PYTHONS[0], wheel_cache: Path | None = None
) -> list[packaging.Artifact]:
    """Write `<out>/spark/` (replaced if present); returns the folder and each dependency archive."""
    unknown = set(architectures) - set(packaging.AWS_PLATFORMS)
    if unknown:
        raise InputError(f"unknown architecture {sorted(unknown)}; expected {', '.join(packaging.AWS_PLATFORMS)}")
    if python not in PYTHONS:
        raise InputError(f"Python {python!r} is not one the Spark services run; expected {', '.join(PYTHONS)}")
    root = packaging.source_root()
    folder = out / "spark"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    wheel = _wheel(root, folder)
    shutil.copy2(root / "functions" / "spark" / ENTRY, folder / ENTRY)
    pinned = requirements(root)
    (folder / "requirements.txt").write_text(requirements_text(pinned))
    shutil.copy2(root / packaging.LOCK, folder / packaging.LOCK)
    built = []
    for arch in architectures:
        bar = progress.Phase(f"package spark {arch}", 2)
        staging = out / f".spark-{arch}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        bar.tick("pip install of the Linux wheels")
        tags = packaging.platform_tags(arch, python)
        packaging._pip_install([*pinned, str(wheel)], tags, python, staging, wheel_cache, root / packaging.LOCK)
        packaging._prune(staging)
        bar.tick("tar.gz")
        target = folder / f"kubebill-spark-deps-{arch}.tar.gz"
        _tar(staging, target)
        bar.close()
        built.append(packaging.Artifact(target, packaging._tree_bytes(staging), target.stat().st_size))
        shutil.rmtree(staging)
    return [packaging.Artifact(folder, packaging._tree_bytes(folder)), *built]
