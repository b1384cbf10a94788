"""The `kubebill` command. Exit codes: 0 success, 2 bad usage or input (one line naming it), 1 other failure."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from kubebill import __version__, log
from kubebill.commands import NAMES
from kubebill.errors import InputError, KubebillError, described
from kubebill.settings import Settings, variables


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


_SETTING = re.compile(r"\(?(KUBEBILL_[A-Z_]+)\)?")


class _Formatter(argparse.HelpFormatter):
    """Help that names every option's default: its own, else its setting's (unless the text already says it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or "").replace("%", "%%")
        if "default" in text or not action.option_strings or isinstance(action, argparse._CountAction):
            return text
        if action.default not in (None, False, argparse.SUPPRESS):
            return text + " (default: %(default)s)"
        setting = _SETTING.search(text)
        default = _SETTING_DEFAULTS.get(setting.group(1)) if setting else None
        if setting and default not in (None, ""):
            return text.replace(setting.group(0), f"({setting.group(1)}, default: {default})")
        return text


_SETTING_DEFAULTS = {row["env"]: row["default"] for row in variables()}


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"kubebill.commands.{name}")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-format", choices=("text", "json"), help="log lines as text or JSON (KUBEBILL_LOG_FORMAT)"
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug logging; tracebacks on failure")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kubebill", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kubebill {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in NAMES:
        module = _command(name)
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP, formatter_class=_Formatter)
        module.add_arguments(sub)
        _common(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logger = log.get("cli")
    try:
        settings = Settings.from_env()
    except InputError as exc:
        print(f"kubebill: {exc}", file=sys.stderr)
        return 2
    log.configure(args.log_format or settings.log_format, settings.log_level, verbose=args.verbose)
    try:
        return int(_command(args.command).run(args, settings))
    except InputError as exc:
        logger.debug("bad input", exc_info=args.verbose > 0)
        print(f"kubebill {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except KubebillError as exc:  # an outage kubebill recognised: its message already says what and why
        logger.debug("failed", exc_info=args.verbose > 0)
        print(f"kubebill {args.command}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        logger.error("%s failed: %s", args.command, described(exc), exc_info=args.verbose > 0)
        if not args.verbose:
            print(f"kubebill {args.command}: {described(exc)} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
