"""Bounding and checking the metadata of a submitted notebook, and repairing its text.

Whatever the grader keeps of a submission is later deep-copied, validated and written by
nbformat, whose code recurses and encodes to UTF-8.  So what is kept must be small, shallow and
encodable, whatever the student's file held:

* metadata (the notebook's and each cell's) is copied without recursion, within a nesting depth
  and a size; beyond them it is dropped, except the keys nbgrader and Jupyter themselves use,
  which are kept only when they have the shape nbformat's and nbgrader's schemas give them;
* the ``nbgrader`` metadata of a cell must have nbgrader's shape (known keys, right types), or it
  is treated as malformed and ignored;
* lone UTF-16 surrogates (``"\\ud800"`` is legal JSON text, but no UTF-8 encoder accepts it)
  become U+FFFD; NaN and Infinity (accepted by Python's json, not JSON) become null.

Sizes are approximate JSON sizes in characters: a string counts its length plus its quotes, a
number a few characters.  The limits are far above what Jupyter writes (a lesson's cell has
under 200 characters of metadata, its notebook metadata about 100).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MAX_DEPTH",
    "MAX_CELL_METADATA",
    "MAX_NOTEBOOK_METADATA",
    "MAX_TOTAL_METADATA",
    "BoundedCopy",
    "bounded_copy",
    "MetadataCleaner",
    "cells_phrase",
]

# nesting levels of a metadata value, the metadata object itself being level 1: nbgrader's is
# at level 2, Jupyter's widget state at about 6.  Shallow enough that nbformat's recursive
# validation and copies stay far from Python's recursion limit, whoever calls the grader.
MAX_DEPTH = 16
MAX_CELL_METADATA = 64 * 2**10  # one cell's metadata
MAX_NOTEBOOK_METADATA = 2**20  # the notebook-level metadata (widget state can be large)
# All metadata of one notebook together: this bounds the work of copying it (at most some
# hundred thousand values), however many cells share it.
MAX_TOTAL_METADATA = 2 * 2**20
# A well-known key kept from metadata that was over the limits is itself copied within these.
_KNOWN_DEPTH = 4
_KNOWN_SIZE = 4 * 2**10

_SURROGATE = re.compile("[\ud800-\udfff]")
_GRADE_ID = re.compile(r"[a-zA-Z0-9_\-]{1,128}")
_CHECKSUM = re.compile(r"[0-9a-zA-Z]{0,128}")


@dataclass
class BoundedCopy:
    value: object  # the copy, or None when ``problem`` is set
    problem: str  # "" | "deep" | "large"
    walked: int  # approximate JSON characters looked at (the work done)
    surrogates: int = 0  # lone surrogates replaced by U+FFFD in the copy
    non_finite: int = 0  # NaN/Infinity replaced by None in the copy


def bounded_copy(value, max_depth: int, max_size: int, repair: bool = True) -> BoundedCopy:
    """A copy of the JSON ``value`` (as ``json.loads`` returns it) without recursion.

    It stops as soon as a container is nested deeper than ``max_depth`` or the copy's
    approximate JSON size passes ``max_size``, so its cost is bounded by the limits, not by the
    input.  With ``repair``, lone surrogates in strings and keys become U+FFFD.
    """
    size = 0
    surrogates = non_finite = 0
    holder: list = [None]
    stack: list = [(value, holder, 0, 1)]
    while stack:
        v, parent, key, depth = stack.pop()
        t = type(v)
        if t is str:
            size += len(v) + 2
            if repair and _SURROGATE.search(v):
                v, n = _SURROGATE.subn("\ufffd", v)
                surrogates += n
        elif t is dict or t is list:
            if depth > max_depth:
                return BoundedCopy(None, "deep", size)
            size += 2 + len(v)
            if size > max_size:
                return BoundedCopy(None, "large", size)
            if t is dict:
                new: dict | list = {}
                for k, item in v.items():
                    size += len(k) + 3
                    if size > max_size:
                        return BoundedCopy(None, "large", size)
                    if repair and _SURROGATE.search(k):
                        k, n = _SURROGATE.subn("\ufffd", k)
                        surrogates += n
                    new[k] = None  # a placeholder keeps the keys in their order
                    stack.append((item, new, k, depth + 1))
            else:
                new = [None] * len(v)
                stack.extend((item, new, i, depth + 1) for i, item in enumerate(v))
            v = new
        elif t is float:
            size += 8
            if not math.isfinite(v):
                v = None
                non_finite += 1
        elif t is int:
            size += 2 + v.bit_length() // 3  # about its number of digits, without printing it
        elif t is bool or v is None:
            size += 5
        else:  # json.loads makes nothing else
            return BoundedCopy(None, "large", size)
        parent[key] = v
        if size > max_size:
            return BoundedCopy(None, "large", size)
    return BoundedCopy(holder[0], "", size, surrogates, non_finite)


# ------------------------------------------------------------------- the shapes of known keys


def _is_bool(v) -> bool:
    return type(v) is bool


def _is_text(limit: int) -> Callable[[object], bool]:
    return lambda v: type(v) is str and len(v) <= limit


def _is_name(v) -> bool:  # nbformat: a non-empty one-line string
    return type(v) is str and 0 < len(v) <= 200 and "\n" not in v


def _is_tags(v) -> bool:  # nbformat: unique strings without commas
    if type(v) is not list or len(v) > 100:
        return False
    if not all(type(t) is str and 0 < len(t) <= 200 and "," not in t for t in v):
        return False
    return len(set(v)) == len(v)


def _is_scrolled(v) -> bool:
    return type(v) is bool or v == "auto"


def _is_jupyter(v) -> bool:
    if type(v) is not dict or len(v) > 20:
        return False
    return all(type(v[k]) is bool for k in ("source_hidden", "outputs_hidden") if k in v)


def _is_execution(v) -> bool:  # nbformat: timestamps, every value a string
    return type(v) is dict and len(v) <= 20 and all(type(x) is str for x in v.values())


def _is_slideshow(v) -> bool:
    return type(v) is dict and len(v) <= 20 and type(v.get("slide_type", "")) is str


def _is_kernelspec(v) -> bool:  # nbformat: name and display_name, strings
    return (
        type(v) is dict
        and len(v) <= 20
        and type(v.get("name")) is str
        and type(v.get("display_name")) is str
    )


def _is_language_info(v) -> bool:
    if type(v) is not dict or len(v) > 20 or type(v.get("name")) is not str:
        return False
    texts = ("file_extension", "mimetype", "pygments_lexer", "nbconvert_exporter", "version")
    if not all(type(v[k]) is str for k in texts if k in v):
        return False
    return type(v.get("codemirror_mode", "")) in (str, dict)


def _is_orig_nbformat(v) -> bool:
    return type(v) is int and v >= 1


def _is_authors(v) -> bool:
    return type(v) is list and len(v) <= 100


# Jupyter's own cell metadata (nbformat 4.5 schema, plus the notebook and JupyterLab keys).
CELL_KEYS: dict[str, Callable[[object], bool]] = {
    "jupyter": _is_jupyter,
    "collapsed": _is_bool,
    "scrolled": _is_scrolled,
    "deletable": _is_bool,
    "editable": _is_bool,
    "trusted": _is_bool,
    "name": _is_name,
    "tags": _is_tags,
    "format": _is_text(200),
    "execution": _is_execution,
    "slideshow": _is_slideshow,
}
NOTEBOOK_KEYS: dict[str, Callable[[object], bool]] = {
    "kernelspec": _is_kernelspec,
    "language_info": _is_language_info,
    "title": _is_text(1000),
    "authors": _is_authors,
    "orig_nbformat": _is_orig_nbformat,
}

# nbgrader's cell metadata (schema version 3): key -> check.
_NBGRADER_KEYS: dict[str, tuple[Callable[[object], bool], str]] = {
    "schema_version": (lambda v: type(v) is int, "an integer"),
    "grade": (_is_bool, "true or false"),
    "solution": (_is_bool, "true or false"),
    "locked": (_is_bool, "true or false"),
    "task": (_is_bool, "true or false"),
    "grade_id": (
        lambda v: type(v) is str and _GRADE_ID.fullmatch(v) is not None,
        "up to 128 letters, digits, '-' or '_'",
    ),
    "points": (
        lambda v: type(v) in (int, float) and math.isfinite(v) and v >= 0,
        "a number of at least 0",
    ),
    "checksum": (
        lambda v: type(v) is str and _CHECKSUM.fullmatch(v) is not None,
        "up to 128 letters or digits",
    ),
    "cell_type": (lambda v: v in ("code", "markdown", "raw"), "code, markdown or raw"),
}


def nbgrader_problem(meta) -> str:
    """Why ``meta`` is not nbgrader cell metadata ("" when it is)."""
    if type(meta) is not dict:
        return f"it is {_kind(meta)}, not an object"
    for key, (check, want) in _NBGRADER_KEYS.items():
        if key in meta and not check(meta[key]):
            return f"its {key} is {_kind(meta[key])}, not {want}"
    return ""


def _kind(v) -> str:
    if type(v) is str:
        return repr(v) if len(v) <= 40 else f"a string of {len(v)} characters"
    if type(v) in (bool, int, float) or v is None:
        text = repr(v) if type(v) is not int or v.bit_length() < 64 else "a huge integer"
        return {"True": "true", "False": "false", "None": "null"}.get(text, text)
    return {"dict": "an object", "list": "a list"}.get(type(v).__name__, type(v).__name__)


def cells_phrase(indices: list[int], limit: int = 8) -> str:
    """``cell 3`` / ``cells 3 and 5`` / ``cells 3, 5, ... and 40 others`` (0-based in)."""
    numbers = [str(i + 1) for i in indices]
    if len(numbers) == 1:
        return f"cell {numbers[0]}"
    if len(numbers) <= limit:
        return f"cells {', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"cells {', '.join(numbers[:limit])} and {len(numbers) - limit} others"


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


@dataclass
class MetadataCleaner:
    """Cleans one notebook's metadata and text, and says once what it changed.

    ``repair`` turns on the surrogate repair (the caller knows from the JSON text whether any
    surrogate escape occurs at all, so an ordinary notebook skips the search).
    """

    repair: bool = True
    budget: int = MAX_TOTAL_METADATA
    surrogates: int = 0
    surrogate_cells: list[int] = field(default_factory=list)
    surrogate_elsewhere: bool = False
    non_finite: int = 0
    dropped: dict[str, list[int]] = field(default_factory=dict)  # reason -> cells
    wrong_shape: dict[str, list[int]] = field(default_factory=dict)  # key -> cells
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (cell, why)
    notebook_notes: list[str] = field(default_factory=list)

    def text(self, s: str, cell: int | None) -> str:
        """``s`` with lone surrogates replaced by U+FFFD."""
        if not self.repair or not _SURROGATE.search(s):
            return s
        s, n = _SURROGATE.subn("\ufffd", s)
        self._count_surrogates(n, cell)
        return s

    def _count_surrogates(self, n: int, cell: int | None) -> None:
        if not n:
            return
        self.surrogates += n
        if cell is None:
            self.surrogate_elsewhere = True
        elif not self.surrogate_cells or self.surrogate_cells[-1] != cell:
            self.surrogate_cells.append(cell)

    def cell(self, index: int, value) -> dict:
        """The metadata to keep of cell ``index`` (0-based)."""
        if type(value) is not dict:
            return {}
        kept_nbgrader = None
        if "nbgrader" in value:
            nbg = value["nbgrader"]
            why = nbgrader_problem(nbg)
            if why:
                self.malformed.append((index, why))
            else:  # only nbgrader's own keys, as nbgrader's metadata upgrade keeps them
                kept_nbgrader = {k: nbg[k] for k in _NBGRADER_KEYS if k in nbg}
            rest = {k: v for k, v in value.items() if k != "nbgrader"}
        else:
            rest = value
        kept, reason = self._bounded(rest, MAX_CELL_METADATA, CELL_KEYS, index)
        if reason:
            self.dropped.setdefault(reason, []).append(index)
        for key in [k for k in CELL_KEYS if k in kept and not CELL_KEYS[k](kept[k])]:
            del kept[key]
            self.wrong_shape.setdefault(key, []).append(index)
        if kept_nbgrader is not None:
            kept["nbgrader"] = kept_nbgrader
        return kept

    def notebook(self, value) -> dict:
        """The notebook-level metadata to keep."""
        if type(value) is not dict:
            return {}
        kept, reason = self._bounded(value, MAX_NOTEBOOK_METADATA, NOTEBOOK_KEYS, None)
        if reason:
            self.notebook_notes.append(
                f"the notebook's metadata {reason}: only its {', '.join(NOTEBOOK_KEYS)} "
                "entries were kept"
            )
        for key in [k for k in NOTEBOOK_KEYS if k in kept and not NOTEBOOK_KEYS[k](kept[k])]:
            del kept[key]
            self.notebook_notes.append(
                f"the notebook's {key} metadata is not in Jupyter's format (dropped)"
            )
        return kept

    def _bounded(self, value: dict, limit: int, known: dict, cell: int | None):
        """(copy, "") within the limits, else (the well-known keys alone, why)."""
        if not value:
            return {}, ""
        allowed = min(limit, self.budget)
        copy = bounded_copy(value, MAX_DEPTH, allowed, self.repair)
        self.budget = max(0, self.budget - copy.walked)
        if not copy.problem:
            self._count_surrogates(copy.surrogates, cell)
            self.non_finite += copy.non_finite
            return copy.value, ""
        if copy.problem == "deep":
            reason = f"is nested more than {MAX_DEPTH} levels deep"
        elif allowed < limit:
            reason = f"comes after the notebook's first {_size(MAX_TOTAL_METADATA)} of metadata"
        else:
            reason = f"is over {_size(limit)}"
        kept = {}
        for key, check in known.items():
            if key not in value or not check(value[key]):
                continue
            small = bounded_copy(value[key], _KNOWN_DEPTH, _KNOWN_SIZE, self.repair)
            if not small.problem:
                kept[key] = small.value
                self._count_surrogates(small.surrogates, cell)
                self.non_finite += small.non_finite
        return kept, reason

    def notes(self) -> list[str]:
        """What was changed, one note per kind of change."""
        notes = list(self.notebook_notes)
        if self.malformed:
            cells = [i for i, _ in self.malformed]
            first = self.malformed[0][1]
            verb = _plural(len(cells), "has", "have")
            why = f"{first}" if len(cells) == 1 else f"the first: {first}"
            notes.append(
                f"{cells_phrase(cells)} {verb} malformed nbgrader metadata (ignored; {why})"
            )
        for reason, cells in self.dropped.items():
            notes.append(
                f"the metadata of {cells_phrase(cells)} {reason}: only nbgrader's and Jupyter's "
                "own entries were kept"
            )
        for key, cells in self.wrong_shape.items():
            notes.append(
                f"the {key} metadata of {cells_phrase(cells)} is not in Jupyter's format (dropped)"
            )
        if self.surrogates:
            where = [cells_phrase(self.surrogate_cells)] if self.surrogate_cells else []
            if self.surrogate_elsewhere:
                where.append("the notebook's metadata")
            n = self.surrogates
            notes.append(
                f"{n} unpaired surrogate {_plural(n, 'character', 'characters')} "
                f"(\\ud800-\\udfff, not valid Unicode) in {' and '.join(where)} "
                f"{_plural(n, 'was', 'were')} replaced by U+FFFD"
            )
        if self.non_finite:
            n = self.non_finite
            notes.append(
                f"{n} NaN or Infinity {_plural(n, 'value', 'values')} in the metadata "
                f"(not valid JSON) {_plural(n, 'was', 'were')} replaced by null"
            )
        return notes


def _size(chars: int) -> str:
    if chars >= 2**20:
        return f"{chars / 2**20:g} MB"
    return f"{chars // 2**10} KB"
