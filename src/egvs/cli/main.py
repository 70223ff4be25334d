"""Entry point of the `egvs` command: builds the parser from one module per command group."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from egvs import __version__
from egvs.errors import EgvsError
from egvs.progress import logger, say, set_verbosity, stop_was_lost, verbosity

# Each module defines ``register(subparsers, common)`` and sets ``func`` on its parsers.
COMMAND_MODULES = [
    "egvs.cli.summarize",
    "egvs.cli.shorts",
    "egvs.cli.demo",
    "egvs.cli.eval",
    "egvs.cli.ser",
    "egvs.cli.face",
    "egvs.cli.data",
    "egvs.cli.hypothesis",
    "egvs.cli.train",
    "egvs.cli.batch",
    "egvs.cli.transcribe",
]


class _Parser(argparse.ArgumentParser):
    """argparse with the documented exit code for usage errors (1; 2 means bad input), and a
    hint for file names that look like options (``-clip.mp4``)."""

    argv: list[str] = []  # the arguments being parsed, for the hint

    def error(self, message: str) -> None:  # type: ignore[override]
        dashed = [a for a in _Parser.argv if a.startswith("-") and os.path.isfile(a)]
        if dashed:
            message += (
                f" ({dashed[0]} is a file: put file names that start with '-' after '--', "
                f"e.g. egvs summarize -o out.mp4 -- {dashed[0]})"
            )
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a service manager): stop like Ctrl-C, cleaning up."""


_stopping = {"now": False}  # main() is printing its last line: a second SIGTERM waits


def _raise_terminated(_signum: int, _frame: object) -> None:
    """Imports and allocates nothing: it may run at any bytecode, inside an import too."""
    if not _stopping["now"]:
        raise _Terminated


def _unraisable(previous):
    """A ``sys.unraisablehook`` that keeps a SIGTERM or Ctrl-C raised where Python ignores
    exceptions (a finalizer, a C callback): the run would go on to the end and exit 0."""

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            stop_was_lost(unraisable.exc_value)
        else:
            previous(unraisable)

    return hook


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("output verbosity")
    group.add_argument(
        "-q", "--quiet", action="store_true", help="only print errors; no progress bars"
    )
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="more detail (-vv: debug)"
    )
    parser = _Parser(
        prog="egvs",
        description="Emotion-Guided Video Summarization: turn a long video into a short highlight "
        "summary that keeps the moments where the emotion is (voices, laughter, applause, "
        "screams, motion).",
        epilog="Run 'egvs COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"egvs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``egvs`` command and return its exit code; errors become one line on stderr.

    Exit codes: 0 ok; 1 usage error (bad option or value); 2 bad input (`InputError`); 3 bad
    output path (`OutputError`); 4 missing model or package (`SetupError`); 70 internal error
    (the traceback with ``-v``); 130 Ctrl-C; 143 SIGTERM. Only ``--help`` and ``--version``
    exit through `SystemExit` (code 0).
    """
    parser = build_parser()
    _Parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    caller_verbosity = verbosity()  # restored on the way out: main() may run inside a program
    set_verbosity(-1 if args.quiet else min(args.verbose, 2))
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if main_thread else None
    previous_hook, sys.unraisablehook = sys.unraisablehook, _unraisable(sys.unraisablehook)
    try:
        return int(args.func(args) or 0)
    except EgvsError as exc:
        say(f"egvs: error: {exc}")
        return exc.exit_code
    except _Terminated:  # partial outputs are removed on the way out (atomic writes)
        _stopping["now"] = True
        say("egvs: terminated")  # imports nothing: the signal may have struck inside an import
        return 143
    except KeyboardInterrupt:
        _stopping["now"] = True
        say("egvs: interrupted")
        return 130
    except Exception as exc:  # unexpected: one line by default, the traceback with -v
        if args.verbose:
            logger.exception("internal error")
        say(f"egvs: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)")
        return 70
    finally:
        sys.unraisablehook = previous_hook
        stop_was_lost(None)
        set_verbosity(caller_verbosity)
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        _stopping["now"] = False


if __name__ == "__main__":
    sys.exit(main())
