"""What every instructor page shares: the HTML frame and its style, the words for a status,
the misconception catalogue's titles and hints, and the check on ids used as folder names.

The feedback pages (``feedback.py``) and the class report (``reports.py``) are built with these.
"""

from __future__ import annotations

import functools
import html
import importlib

from convcourse.instructor.reporting.outcomes import UNREADABLE

__all__ = [
    "CSS",
    "STATUS_TEXT",
    "check_folder_name",
    "escape",
    "html_page",
    "misconception_details",
    "misconception_info",
]

# Student-facing words for the grader's statuses (recording/results.py); others shown as they are.
STATUS_TEXT = {
    "graded": "Graded",
    "invalid": "Not graded: the notebook could not be read",
    "missing": "Not graded: no notebook was found in the submission",
    "timeout": "Stopped: the notebook ran past the time limit",
    "crashed": "Stopped: the notebook's kernel crashed",
    "memory": "Stopped: the notebook used more memory than allowed",
    "refused": "Not graded: the submission was refused",
    UNREADABLE: "Grading results could not be read; please ask your instructor",
}

# Plain, high-contrast styling (all text at least 7:1 on white); results are spelled out in words
# and symbols, colour only repeats them.
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       background: #ffffff; line-height: 1.5; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1, h2, h3 { line-height: 1.25; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; min-width: 50%; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid #6b6b6b; padding: 0.35rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #eeeeee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #0b5d1e; } .fail { color: #8f1010; } .other { color: #3d3d3d; }
pre { white-space: pre-wrap; word-break: break-word; background: #f4f4f4; color: #1b1b1b;
      border: 1px solid #b0b0b0; padding: 0.6rem; font-size: 0.95em; }
dt { font-weight: 600; } dd { margin: 0 0 0.5rem 1.5rem; }
.note { border-left: 4px solid #3d3d3d; padding: 0.25rem 0.75rem; background: #f4f4f4; }
img { max-width: 100%; height: auto; }
a { color: #0b4f8a; }
"""


def escape(value: object) -> str:
    """``value`` as HTML text (quotes too)."""
    return html.escape(str(value), quote=True)


def html_page(title: str, body: str, lang: str = "en") -> str:
    """A complete, self-contained HTML document (inline CSS, no external assets)."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}</main>\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------------------------
# Misconception catalogue (student world; imported lazily so this module loads without it)


@functools.cache
def _catalogue():
    """``convcourse.checks.messages``, or None where the checks package is not there."""
    try:
        return importlib.import_module("convcourse.checks.messages")
    except ImportError:
        return None


def misconception_details(key: str) -> tuple[str, str, str]:
    """(title, hint, lesson section) of a misconception from the catalogue; (key, "", "") for a
    key the catalogue does not have (a newer grader, a typo), so a page never fails on it."""
    messages = _catalogue()
    if messages is None:
        return key, "", ""
    try:
        entry = messages.misconception(key)
    except KeyError:
        return key, "", ""
    where = messages.section(entry.section) if entry.section else ""
    return entry.title or key, entry.hint or "", where


def misconception_info(key: str) -> tuple[str, str]:
    """(title, hint) of a misconception key; (key, "") when the catalogue does not have it."""
    title, hint, _ = misconception_details(key)
    return title, hint


def check_folder_name(value: str, what: str) -> None:
    """Ids become folder and file names: refuse anything that could escape its folder."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or value in {".", ".."}
        or any(sep in value for sep in ("/", "\\", "\0"))
    ):
        raise ValueError(f"{what} cannot be used as a folder name: {value!r}")
