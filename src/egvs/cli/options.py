"""Options several commands share: argparse types (positive numbers, a ratio, a time, a MIN-MAX
length, an aspect) and option groups (the summary budget, the scorer).

Every command's parser is built at start-up, even for ``egvs --version``, so this module imports
nothing heavy: values are checked against the domain (`egvs.shortform.make`, ...) only when an
option is given, and help texts name their defaults as ``{placeholders}`` that `HelpFormatter`
fills from the domain constants only when help is shown.
"""

from __future__ import annotations

import argparse
import functools
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from egvs.request import SummaryRequest
    from egvs.shortform.options import ShortsOptions


@functools.cache
def domain_defaults() -> dict[str, str]:
    """The defaults help texts name, from the constants the code runs with."""
    from egvs.evaluation.protocol import RANDOM_TRIALS
    from egvs.scoring.fusion import FusionWeights
    from egvs.scoring.model_config import FUSIONS
    from egvs.selection.budget import DEFAULT_RATIO
    from egvs.shortform.options import ASPECTS, DEFAULTS

    return {
        "ratio": f"{DEFAULT_RATIO:g}",
        "percent": f"{DEFAULT_RATIO:.0%}",
        "weights": ",".join(f"{k}={v:g}" for k, v in asdict(FusionWeights()).items()),
        "count": str(DEFAULTS.count),
        "length": DEFAULTS.length_text,
        "aspect": DEFAULTS.aspect,
        "trials": str(RANDOM_TRIALS),
        "fusions": ", ".join(FUSIONS),
        "aspects": ", ".join(f"{name} ({w}x{h})" for name, (w, h) in ASPECTS.items()),
    }


class HelpFormatter(argparse.HelpFormatter):
    """Fills ``{ratio}``-style placeholders of help texts from `domain_defaults`."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if not text:
            return text
        # argparse then expands %(default)s-style fields: a literal % must be doubled
        return text.format_map({k: v.replace("%", "%%") for k, v in domain_defaults().items()})


def _number(text: str) -> float:
    """The number ``text`` spells, or the argparse error that it is none."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text}")
    return value


def ratio(text: str) -> float:
    """argparse type: a fraction in (0, 1]."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"ratio must be in (0, 1]: {text}")
    return value


def seconds(text: str) -> float:
    """argparse type: a time in the input, a finite number of seconds >= 0."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a time >= 0 s: {text}")
    return value


def length(text: str) -> tuple[float, float]:
    """argparse type: a clip length range ``MIN-MAX`` in seconds."""
    from egvs.errors import EgvsError
    from egvs.shortform.options import parse_length

    try:
        return parse_length(text)
    except EgvsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def aspect(text: str) -> str:
    """argparse type: a frame shape the shorts know (``9:16``, ...)."""
    from egvs.errors import EgvsError
    from egvs.shortform.options import parse_aspect

    try:
        parse_aspect(text)
    except EgvsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_budget_options(parser: argparse.ArgumentParser, *, per_video: bool = False) -> None:
    """``--ratio`` and ``--duration``: how long a summary is (summarize, analyze, batch)."""
    of = "each input" if per_video else "the input"
    budget = parser.add_argument_group(
        "summary length",
        "kept within 5%: cuts move into speech pauses, and the silence at a cut is trimmed",
    )
    budget.add_argument(
        "--ratio",
        type=ratio,
        default=None,
        help=f"fraction of {of}'s duration (default {{ratio}}, i.e. {{percent}})",
    )
    budget.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="target length in seconds (wins over --ratio), e.g. 60",
    )


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """``--weights`` and ``--model``: what scores the moments (summarize, analyze, shorts, batch).
    The weights stay text here: `SummaryRequest` validates them with the rest of the request."""
    scoring = parser.add_argument_group("scoring")
    scoring.add_argument(
        "--weights",
        default=None,
        metavar="emotion=W,events=W,visual=W,faces=W",
        help="fusion weights of the training-free scorer (default {weights}; faces only add to "
        "the others)",
    )
    scoring.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="use a trained EGVS model (egvs train) instead of the fusion",
    )


def add_no_cache_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, what: str = "features"
) -> None:
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help=f"recompute {what} instead of using $EGVS_CACHE_DIR (default ~/.cache/egvs)",
    )


def summary_request(args: argparse.Namespace) -> SummaryRequest:
    """The budget and scoring options as one validated request (as the web app builds it)."""
    from egvs.request import SummaryRequest

    return SummaryRequest.from_options(
        ratio=args.ratio, duration=args.duration, weights=args.weights, model=args.model
    )


def shorts_options(args: argparse.Namespace, **more: bool) -> ShortsOptions:
    """The shorts options given on the command line (and ``more`` of them, such as ``fill``),
    resolved once; the others keep their defaults (`egvs.shortform.options.DEFAULTS`)."""
    from egvs.shortform.options import ShortsOptions

    return ShortsOptions.from_options(
        count=args.count,
        length=args.length,
        aspect=args.aspect,
        captions=args.captions,
        language=args.lang,
        **more,
    )


def clock(t: float) -> str:
    """``m:ss.ss`` (``h:mm:ss.ss`` past an hour): times in the commands' printed tables."""
    m, s = divmod(t, 60)
    h, m = divmod(int(m), 60)
    return f"{h:d}:{m:02d}:{s:05.2f}" if h else f"{m:02d}:{s:05.2f}"
