"""The command line (DESIGN section 6): parse, open what the command needs, print, exit 0/1/2.

Each command group is a module with a `register(subparsers)` that adds its commands, each a small
function taking the parsed arguments. Errors of the `SirenSyncError` family become one line on
stderr and their exit code (2 for config or usage, 1 for failures); so do argparse's usage errors.
"""
from __future__ import annotations

import logging
import os
import sys

from siren_sync import logs
from siren_sync.cli import events, fulfillments, payouts, periods, site, store
from siren_sync.cli.common import Parser
from siren_sync.errors import SirenSyncError, UsageError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def build_parser() -> Parser:
    parser = Parser(prog="siren-sync", description="Pays WordPress collaborators from scheduled reward pools.")
    parser.add_argument("--config", help="config file (default: $SIREN_SYNC_CONFIG, else config/siren.yaml)")
    parser.add_argument("--log-level", default=os.environ.get("SIREN_SYNC_LOG_LEVEL"),
                        help="DEBUG, INFO (default; WARNING for demo), WARNING, ERROR")
    parser.add_argument("--log-format", choices=("text", "json"),
                        default=os.environ.get("SIREN_SYNC_LOG_FORMAT", "text"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for group in (site, periods, events, payouts, fulfillments, store):
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logs.setup("WARNING", _log_format(argv))  # so even a usage error is in the asked format
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed in one line (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        level = (args.log_level or ("WARNING" if args.command == "demo" else "INFO")).upper()
        if level not in LEVELS:
            raise UsageError(f"--log-level {args.log_level!r}: expected one of {', '.join(LEVELS)}")
        logs.setup(level, args.log_format)
        return int(args.func(args) or 0)
    except SirenSyncError as exc:
        logs.say(logging.ERROR, f"siren-sync: {exc}", event="error", exit=exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user; it is kept for DEBUG
        logging.getLogger("siren_sync").debug("unexpected error", exc_info=True)
        logs.say(logging.ERROR, f"siren-sync: unexpected error: {exc.__class__.__name__}: {exc} "
                 "(run with --log-level DEBUG for the details, and please report it)", event="error", exit=1)
        return 1


def _log_format(argv: list[str]) -> str:
    """`--log-format` as given (before the whole command line is parsed), else the environment's."""
    args = iter(argv)
    for arg in args:
        if arg.startswith("--log-format"):
            value = arg.partition("=")[2] if "=" in arg else next(args, "")
            return "json" if value == "json" else "text"
        if arg in ("--config", "--log-level"):
            next(args, None)
        elif not arg.startswith("-") or arg == "--":
            break  # the command: what follows is its own
    return "json" if os.environ.get("SIREN_SYNC_LOG_FORMAT") == "json" else "text"
