"""`egvs demo`: the web app. Gradio is imported only when the command runs, so the default
install (without the `demo` extra) still runs every other command and `egvs --help`."""

from __future__ import annotations

import argparse
import os

from egvs.errors import SetupError

INSTALL_HINT = "pip install 'egvs[demo]' (or: bash scripts/install.sh --test)"


def _size(text: str) -> int:
    from egvs.app.jobs import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1: {text}")
    return int(text)


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo",
        parents=[common],
        help="start the web app (upload a video, get the summary, plot and editor timeline)",
        description="Start the EGVS web app: upload a video (or use a generated example), choose the "
        "summary length and fusion weights, then watch the summary, read the emotion timeline and "
        "download the mp4, the analysis JSON and a timeline for your editor. Needs the 'demo' extra.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--max-upload",
        type=_size,
        default="2GB",
        metavar="SIZE",
        help="largest upload accepted, e.g. 500MB (default 2GB)",
    )
    p.add_argument(
        "--jobs",
        type=_count,
        default=1,
        help="summaries run at once; each uses every CPU core, so more only helps on big machines (default 1)",
    )
    p.add_argument(
        "--queue-size",
        type=_count,
        default=20,
        help="jobs allowed to wait; more are refused with a message (default 20)",
    )
    p.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="where the private working folder is made (default: the system temp folder)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from egvs.app.ui import AppConfig, serve
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] in ("gradio", "gradio_client"):
            raise SetupError(f"the web app needs the 'demo' extra: {INSTALL_HINT}") from None
        raise
    config = AppConfig(max_upload=args.max_upload, jobs=args.jobs, queue_size=args.queue_size)
    serve(config, args.host, args.port, args.workdir)  # blocks; Ctrl-C stops it and cleans up
    return 0
