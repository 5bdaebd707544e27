"""The course's editions: English and its translations, each with the kernel its notebooks name.

A student's notebook names its kernel in its metadata; the Chinese edition's kernel, *Python 3
(convcourse, 中文)*, is the course's kernel with ``CONVCOURSE_LANG=zh`` set, so every check
message appears in Chinese without the student doing anything.  ``course.py`` registers both
(it keeps its own copy of these names: it runs before anything is installed).
"""

from __future__ import annotations

__all__ = ["EDITIONS", "DEFAULT", "kernel_name", "language_of_kernel"]

DEFAULT = "en"
#: language code -> the kernel its notebooks use, its display name, the language's own name
EDITIONS: dict[str, dict[str, str]] = {
    "en": {"kernel": "convcourse", "display_name": "Python 3 (convcourse)", "name": "English"},
    "zh": {
        "kernel": "convcourse-zh",
        "display_name": "Python 3 (convcourse, 中文)",
        "name": "简体中文",
    },
}


def kernel_name(lang: str) -> str:
    """The kernel the notebooks of edition ``lang`` name."""
    if lang not in EDITIONS:
        raise ValueError(f"no edition {lang!r}; the course has {sorted(EDITIONS)}")
    return EDITIONS[lang]["kernel"]


def language_of_kernel(name: str | None) -> str:
    """The edition whose notebooks name kernel ``name``; English for any other kernel."""
    for lang, info in EDITIONS.items():
        if info["kernel"] == name:
            return lang
    return DEFAULT
