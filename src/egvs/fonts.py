"""The one font EGVS ships: Noto Sans CJK Bold (SIL OFL 1.1, PyPI `cvttf-notosanscjk-bold`).

It covers Hangul, kana, Han and Latin, so captions and the plot's file names render in any script
without assuming a system font.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from egvs.errors import SetupError

FONT_PACKAGE = "cvttf_NotoSansCJK_Bold"
FONT_FIX = "install the font: pip install cvttf-notosanscjk-bold==1.0"


def cjk_font_path() -> Path:
    """The bundled .otf of the font package; `SetupError` when the package is missing."""
    try:
        folder = resources.files(FONT_PACKAGE)
    except ModuleNotFoundError as exc:
        raise SetupError(f"the CJK font is missing: {FONT_FIX}") from exc
    fonts = sorted(p.name for p in folder.iterdir() if p.name.lower().endswith((".otf", ".ttf")))
    if not fonts:
        raise SetupError(f"the CJK font package has no font file: {FONT_FIX}")
    return Path(str(folder / fonts[0]))
