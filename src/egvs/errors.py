"""User-facing errors: the CLI prints their message as one line and exits non-zero."""

import importlib
import re
from types import ModuleType


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


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency where it is used; a `SetupError` (exit code 4) says which
    extra installs it, instead of a bare ModuleNotFoundError from deep inside a command."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise SetupError(f"{module} is not installed: pip install 'egvs[{extra}]'") from None
