"""Fonts for the course's figures, so that Chinese text is drawn, never shown as empty boxes.

matplotlib's own font (DejaVu Sans) has no Chinese glyphs.  The course depends on ``mplfonts``
only for one font file it ships, Noto Sans CJK SC (SIL Open Font License); the package itself is
never imported.  :func:`use_course_fonts` registers that file with matplotlib and puts it after
the default font, so Latin text looks as before and each Chinese glyph falls back to it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["CJK_FAMILY", "cjk_font_file", "use_course_fonts"]

CJK_FAMILY = "Noto Sans CJK SC"
_FONT_FILE = "NotoSansCJKsc-Regular.otf"
_ready: bool | None = None  # None: not tried yet


def cjk_font_file() -> Path | None:
    """The CJK font file the course installs, or None where it is not installed."""
    spec = importlib.util.find_spec("mplfonts")  # finds the folder, runs none of its code
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / _FONT_FILE
    return path if path.is_file() else None


def use_course_fonts() -> bool:
    """Let matplotlib draw Chinese text; return whether it can (the font is installed).

    The first call registers the font and sets ``font.family`` to the default font followed by
    the CJK one (matplotlib falls back glyph by glyph along that list); later calls only say
    whether that worked.  The drawing functions of ``convcourse.plots`` call it.
    """
    global _ready
    if _ready is not None:
        return _ready
    path = cjk_font_file()
    if path is None:
        _ready = False
        return False
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    families = list(matplotlib.rcParams["font.family"])
    if CJK_FAMILY not in families:
        # A generic family ("sans-serif") has no fallback: name the font it stands for.
        default = font_manager.FontProperties(family=families)
        first = font_manager.get_font(font_manager.findfont(default)).family_name
        matplotlib.rcParams["font.family"] = [first, CJK_FAMILY]
    _ready = True
    return True
