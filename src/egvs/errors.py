"""User-facing errors: the CLI prints their message as one line and exits non-zero."""

import re


class EgvsError(Exception):
    """Base class for errors caused by the user's input, options or environment."""

    exit_code = 1


class InputError(EgvsError):
    """The input file is missing, unreadable, not media, corrupt, or too short."""

    exit_code = 2


class OutputError(EgvsError):
    """The output path cannot be written (exists, unwritable, or equal to the input)."""

    exit_code = 3


class SetupError(EgvsError):
    """A model or package EGVS needs is not installed; the message says how to fix it."""

    exit_code = 4


def reason(exc: BaseException) -> str:
    """A library error in words, without FFmpeg's error number or the path it repeats.

    PyAV's errors print as ``[Errno 1094995529] Invalid data found when processing input: 'f'``;
    users get ``Invalid data found when processing input``.
    """
    text = getattr(exc, "strerror", None) or str(exc)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip() or type(exc).__name__
