"""`kubebill package`: the deployable function artifacts infra/ deploys, built from a source checkout.

- aws: `kubebill-aws-x86_64.zip` and `kubebill-aws-arm64.zip` — handler.py, kubebill/ and the
  dependencies as Linux wheels for the Lambda Python runtime (3.11 by default; `python` must match the
  function's runtime), each at most 250 MB unzipped.
- azure: `azure/` — function_app.py, host.json, requirements.txt and kubebill/ (remote build installs).
- gcp: `gcp/` — main.py, requirements.txt and kubebill/ (Cloud Build installs requirements.txt).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kubebill import progress
from kubebill.errors import InputError

CLOUDS = ("aws", "azure", "gcp")
LAMBDA_LIMIT_BYTES = 250 * 1024 * 1024
LAMBDA_PYTHONS = ("3.11", "3.12", "3.13")  # must match the function's runtime (infra var python_runtime)
LAMBDA_PYTHON = LAMBDA_PYTHONS[0]  # the default, what infra's python_runtime defaults to
AWS_PLATFORMS = {"x86_64": "x86_64", "arm64": "aarch64"}
ENTRY = {"aws": ("handler.py",), "azure": ("function_app.py", "host.json"), "gcp": ("main.py",)}
# pandas is a user-facing convenience (DESIGN 6): no function's code path imports it.
LEFT_OUT = frozenset({"pandas"})
# Never needed at run time inside a function: C headers, Cython sources, test suites, bytecode.
_PRUNE_DIRS = frozenset({"__pycache__", "tests", "include"})
_PRUNE_SUFFIXES = (".pyc", ".pyx", ".pxd", ".pxi")
# Arrow Flight (22 MB) is never imported by kubebill; Lambda's 250 MB is tight.
_PRUNE_GLOBS = ("pyarrow/*flight*",)
# botocore ships the API models of ~450 services (28 MB); the S3 store needs S3's, the credential chain STS/SSO's.
_BOTOCORE_SERVICES = frozenset({"s3", "sts", "sso", "sso-oidc"})
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    path: Path
    unzipped_bytes: int
    zipped_bytes: int | None = None


def source_root() -> Path:
    """The checkout holding core/kubebill, functions/ and pyproject.toml."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "functions").is_dir() or not (root / "pyproject.toml").is_file():
        raise InputError(f"kubebill package needs a source checkout: no functions/ and pyproject.toml in {root}")
    return root


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    return match.group(0).lower().replace("_", "-") if match else requirement


def requirements(cloud: str, root: Path) -> list[str]:
    """The function runtime's own requirements, then kubebill's dependencies and the cloud's extra."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime_file = root / "functions" / cloud / "requirements.txt"
    runtime = []
    if runtime_file.is_file():
        runtime = [line.strip() for line in runtime_file.read_text().splitlines() if line.strip()]
        runtime = [line for line in runtime if not line.startswith("#")]
    wanted = [*runtime, *project["dependencies"], *project["optional-dependencies"][cloud]]
    seen: set[str] = set()
    result = []
    for requirement in wanted:
        name = _name(requirement)
        if name in LEFT_OUT or name in seen:
            continue
        seen.add(name)
        result.append(requirement)
    return result


def _copy_core(dest: Path) -> None:
    package = Path(__file__).resolve().parent
    shutil.copytree(package, dest / "kubebill", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _source_folder(cloud: str, out: Path, root: Path) -> Artifact:
    folder = out / cloud
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ENTRY[cloud]:
        shutil.copy2(root / "functions" / cloud / name, folder / name)
    (folder / "requirements.txt").write_text("\n".join(requirements(cloud, root)) + "\n")
    _copy_core(folder)
    return Artifact(folder, _tree_bytes(folder))


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _prune(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in _PRUNE_DIRS and path.parent != folder:
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.endswith(_PRUNE_SUFFIXES):
            path.unlink()
    for pattern in _PRUNE_GLOBS:
        for path in folder.glob(pattern):
            path.unlink()
    models = folder / "botocore" / "data"
    if models.is_dir():
        for service in models.iterdir():
            if service.is_dir() and service.name not in _BOTOCORE_SERVICES:
                shutil.rmtree(service)


def _files(folder: Path) -> Iterator[Path]:
    yield from sorted(p for p in folder.rglob("*") if p.is_file())


def _zip(folder: Path, target: Path) -> None:
    """A reproducible zip: sorted entries, fixed timestamps, permissions kept (Lambda needs +r)."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files(folder):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_FIXED_TIME)
            info.external_attr = ((path.stat().st_mode & 0o777) | 0o444) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as src, archive.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)


def platform_tags(arch: str, python: str) -> list[str]:
    """Wheel platforms the Lambda runtime loads: python3.11 runs on Amazon Linux 2 (glibc 2.26), 3.12+ on AL2023."""
    machine = AWS_PLATFORMS[arch]
    tags = [f"manylinux2014_{machine}"]
    if python != "3.11":
        tags += [f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}"]
    return tags


def _pip_install(reqs: Iterable[str], platforms: list[str], python: str, target: Path, cache: Path | None) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *(flag for tag in platforms for flag in ("--platform", tag)),
        "--only-binary=:all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--target",
        str(target),
        *reqs,
    ]
    env = dict(os.environ)
    if cache is not None:
        env["PIP_CACHE_DIR"] = str(cache)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip could not fetch Lambda wheels for {platforms}: {done.stderr.strip()[-2000:]}")


def _aws(out: Path, root: Path, *, cache: Path | None, architectures: Iterable[str], python: str) -> list[Artifact]:
    built = []
    for arch in architectures:
        bar = progress.Phase(f"package aws {arch}", 3)
        staging = out / f".aws-{arch}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        bar.tick("pip install of the Lambda wheels")
        _pip_install(requirements("aws", root), platform_tags(arch, python), python, staging, cache)
        bar.tick("prune and copy the core")
        _prune(staging)
        shutil.copy2(root / "functions" / "aws" / "handler.py", staging / "handler.py")
        _copy_core(staging)
        unzipped = _tree_bytes(staging)
        if unzipped > LAMBDA_LIMIT_BYTES:
            raise InputError(f"the {arch} Lambda package is {unzipped / 2**20:.0f} MB unzipped; Lambda allows 250 MB")
        target = out / f"kubebill-aws-{arch}.zip"
        bar.tick("zip")
        _zip(staging, target)
        bar.close()
        shutil.rmtree(staging)
        built.append(Artifact(target, unzipped, target.stat().st_size))
    return built


def build(
    cloud: str,
    out: Path,
    *,
    wheel_cache: Path | None = None,
    architectures: Iterable[str] = tuple(AWS_PLATFORMS),
    python: str = LAMBDA_PYTHON,
) -> list[Artifact]:
    """Build the artifact(s) of `cloud` into `out` (created if absent); returns what was written."""
    if cloud not in CLOUDS:
        raise InputError(f"unknown cloud {cloud!r}; expected one of {', '.join(CLOUDS)}")
    unknown = set(architectures) - set(AWS_PLATFORMS)
    if unknown:
        raise InputError(f"unknown architecture {sorted(unknown)}; expected {', '.join(AWS_PLATFORMS)}")
    if python not in LAMBDA_PYTHONS:
        raise InputError(
            f"Python {python!r} has no Lambda runtime kubebill builds for; expected {', '.join(LAMBDA_PYTHONS)}"
        )
    root = source_root()
    out.mkdir(parents=True, exist_ok=True)
    if cloud == "aws":
        return _aws(out, root, cache=wheel_cache, architectures=architectures, python=python)
    return [_source_folder(cloud, out, root)]
