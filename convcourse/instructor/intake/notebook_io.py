"""Reading submitted notebooks defensively, and lining them up with the instructor's version.

:func:`load_submission` turns whatever file a student handed in into a clean nbformat-4
notebook or a specific reason why not ("not valid JSON: ...", "not UTF-8 text: ...",
"nbformat 5.0 is not supported ...", "the notebook has 200000 cells ...").  What it returns is
always safe to plan, copy and write with nbformat: bounded in size and nesting (see
:mod:`convcourse.instructor.intake.notebook_metadata`), every string encodable as
UTF-8, every cell id valid and unique.  :func:`plan_submission` then applies nbgrader's
autograde rules to it -- duplicated grade ids keep their last copy, cells whose type was
changed get their type back, locked cells get the instructor's text back, deleted test cells
are restored -- and lists each deviation as a note.  The plan says which code runs in the
sandbox and where each test happens; test cells are never run from the submission's text.

The limits on a whole notebook are checked before any work per cell, so an absurd file costs
little: its size (``max_mb``), the number of JSON objects and lists in it (json.loads of tens of
millions of them takes seconds and gigabytes), its number of cells and the total size of its
cells' text.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.instructor.authoring.spec import NotebookSpec
from convcourse.instructor.intake.notebook_metadata import MetadataCleaner

__all__ = [
    "Loaded",
    "Plan",
    "load_submission",
    "load_submission_bytes",
    "plan_submission",
    "DEFAULT_MAX_NOTEBOOK_MB",
    "MAX_JSON_CONTAINERS",
    "MAX_CELLS",
    "MAX_SOURCE_CHARS",
]

DEFAULT_MAX_NOTEBOOK_MB = 32
# A lesson's notebook holds about 250 objects and lists, and a notebook of MAX_CELLS cells with
# their outputs some 30,000; json.loads makes 100,000 in a few hundredths of a second, but ten
# million (a 32 MB file of "[]," repeated) in seconds and 800 MB.
MAX_JSON_CONTAINERS = 100_000
MAX_CELLS = 5_000  # a lesson has under 50
# All cells' text together (a lesson has about 15,000 characters).  It also keeps the sandbox's
# request within the codec's 8 MB JSON header even if every character needs a 6-byte escape.
MAX_SOURCE_CHARS = 1_000_000
_CELL_TYPES = ("code", "markdown", "raw")
_V3_CELL_TYPES = ("code", "markdown", "raw", "heading")
_CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Any lone surrogate in the parsed notebook comes from such an escape (the UTF-8 decoder
# rejects encoded surrogates), so a notebook without one skips the search for them.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass
class Loaded:
    nb: dict | None  # nbformat 4 as plain dicts, outputs removed
    status: str  # "ok" | "invalid"
    detail: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """How one submitted notebook is run and what its autograded copy looks like."""

    cells: list[dict]  # the autograded notebook's cells (nbformat 4 dicts)
    steps: list[dict]  # worker request: {"kind": "code"|"test", "i": index, ...}
    notes: list[str]
    answered: dict[str, bool]  # solution/manual grade_id -> changed from the released stub
    student_code: dict[str, str]  # solution grade_id -> the student's source
    prelude_ok: bool = False  # its first code cells are exactly the instructor's prelude


def load_submission(path: Path, max_mb: float = DEFAULT_MAX_NOTEBOOK_MB) -> Loaded:
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Loaded(None, "invalid", f"cannot read the notebook: {exc.strerror}")
    if size > max_mb * 2**20:
        return Loaded(
            None, "invalid", f"the notebook is {size / 2**20:.1f} MB, over the {max_mb:g} MB limit"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Loaded(None, "invalid", f"cannot read the notebook: {exc.strerror}")
    return load_submission_bytes(data, max_mb)


def _invalid(detail: str, notes: list[str] | None = None) -> Loaded:
    return Loaded(None, "invalid", detail, notes or [])


def load_submission_bytes(data: bytes, max_mb: float = DEFAULT_MAX_NOTEBOOK_MB) -> Loaded:
    notes: list[str] = []
    if len(data) > max_mb * 2**20:
        return _invalid(f"the notebook is {len(data) / 2**20:.1f} MB, over the {max_mb:g} MB limit")
    if not data.strip():
        return _invalid("the notebook file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("the file starts with a UTF-8 byte-order mark (ignored)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        line = data[: exc.start].count(b"\n") + 1
        return _invalid(f"not UTF-8 text: byte 0x{bad} at offset {exc.start} (line {line})", notes)
    containers = _count_containers(data)
    if containers > MAX_JSON_CONTAINERS:
        cells = data.count(b'"cell_type"')  # only a hint for the message
        hint = f"; it seems to have {cells:,} cells" if cells > MAX_CELLS else ""
        return _invalid(
            f"the notebook's JSON holds {containers:,} objects and lists, over the limit of "
            f"{MAX_JSON_CONTAINERS:,} (a lesson's holds a few hundred{hint})",
            notes,
        )
    raw, problem = _parse_json(text)
    if problem:
        return _invalid(problem, notes)
    if not isinstance(raw, dict):
        return _invalid(f"not a notebook: the JSON is a {type(raw).__name__}", notes)
    major, minor = raw.get("nbformat"), raw.get("nbformat_minor", 0)
    if type(major) is not int:
        return _invalid("not a notebook: no nbformat version number", notes)
    if major == 3:
        cells, problem = _v3_cells(raw)
        if problem:
            return _invalid(problem, notes)
        notes.append("nbformat 3 notebook converted to nbformat 4")
    elif major == 4:
        cells = raw.get("cells")
        if not isinstance(cells, list):
            return _invalid("not a notebook: it has no list of cells", notes)
    else:
        version = f"{major}.{minor}" if type(minor) is int else f"{major}"
        return _invalid(
            f"nbformat {version} is not supported (the grader reads nbformat 4, and "
            "converts nbformat 3)",
            notes,
        )
    if len(cells) > MAX_CELLS:
        return _invalid(_too_many_cells(len(cells)), notes)
    texts, problem = _cell_texts(cells, major)
    if problem:
        return _invalid(problem, notes)
    cleaner = MetadataCleaner(repair=_SURROGATE_ESCAPE.search(text) is not None)
    meta = cleaner.notebook(raw.get("metadata"))
    if major == 3:
        meta.pop("name", None)  # as nbformat's conversion does
        meta.pop("signature", None)
    clean = []
    seen_ids: set[str] = set()
    for index, (cell, source) in enumerate(zip(cells, texts, strict=True)):
        kind = cell["cell_type"]
        if kind == "heading":  # nbformat 3: a markdown heading in nbformat 4
            level = cell.get("level")
            level = level if type(level) is int and 1 <= level <= 6 else 1
            source = f"{'#' * level} {' '.join(source.splitlines())}"
            kind = "markdown"
        metadata = cleaner.cell(index, cell.get("metadata"))
        if major == 3 and kind == "code" and type(cell.get("collapsed")) is bool:
            metadata["collapsed"] = cell["collapsed"]
        new = {
            "id": _cell_id(cell.get("id"), index, seen_ids),
            "cell_type": kind,
            "metadata": metadata,
            "source": cleaner.text(source, index),
        }
        if kind == "code":
            new["outputs"], new["execution_count"] = [], None
        clean.append(new)
    notes += cleaner.notes()
    nb = {"cells": clean, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    return Loaded(nb, "ok", "", notes)


def _count_containers(data: bytes) -> int:
    """The number of JSON objects and lists in ``data`` (brackets inside strings not counted).

    Counting every bracket is a cheap upper bound; only a file above the limit by that count
    (an absurd one, or one whose outputs print many brackets) pays for the exact count, which
    is vectorised so that its cost does not depend on how many strings the file has.
    """
    quick = data.count(b"{") + data.count(b"[")
    if quick <= MAX_JSON_CONTAINERS:
        return quick
    import numpy as np

    # In JSON a backslash only occurs in a string, starting an escape: drop escaped
    # backslashes, then escaped quotes, and every quote left opens or closes a string.  (These
    # ASCII bytes never occur inside a multi-byte UTF-8 character.)
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    text = np.frombuffer(data, np.uint8)
    inside = np.cumsum(text == ord('"'), dtype=np.uint8)  # its parity is what counts
    inside &= 1
    brackets = text == ord("{")
    brackets |= text == ord("[")
    brackets &= inside == 0
    return int(np.count_nonzero(brackets))


def _parse_json(text: str):
    """(value, "") or (None, why not)."""
    try:
        return json.loads(text), ""
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:  # json's own guard: it stops at Python's recursion limit, quickly
        return None, "not valid JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        return None, f"not valid JSON: {str(exc)[:200]}"


def _v3_cells(raw: dict):
    """The cells of an nbformat 3 notebook in nbformat 4's shape (shallow), or why not."""
    cannot = "nbformat 3 notebook that cannot be converted: "
    worksheets = raw.get("worksheets", [])
    if not isinstance(worksheets, list):
        return None, cannot + "its worksheets are not a list"
    count = 0
    for ws in worksheets[: MAX_CELLS + 1]:
        ws_cells = ws.get("cells") if isinstance(ws, dict) else None
        if not isinstance(ws_cells, list):
            return None, cannot + "a worksheet has no list of cells"
        count += len(ws_cells)
    if count > MAX_CELLS or len(worksheets) > MAX_CELLS:
        return None, _too_many_cells(max(count, len(worksheets)))
    cells = []
    for ws in worksheets:
        for cell in ws["cells"]:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                cell = {**cell, "source": cell.get("input", "")}
            cells.append(cell)
    return cells, ""


def _too_many_cells(count: int) -> str:
    return (
        f"the notebook has {count:,} cells, over the limit of {MAX_CELLS:,} (a lesson has under 50)"
    )


def _cell_texts(cells: list, major: int):
    """Every cell's source as one string, or the first reason the cells are not cells.

    The total size is checked as it grows, before any further work per cell.
    """
    types = _V3_CELL_TYPES if major == 3 else _CELL_TYPES
    texts: list[str] = []
    total = 0
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or type(cell.get("cell_type")) is not str:
            kind = cell.get("cell_type") if isinstance(cell, dict) else cell
            return None, f"cell {index + 1} is not a notebook cell ({_describe(kind)})"
        if cell["cell_type"] not in types:
            return None, f"cell {index + 1} is not a notebook cell ({_describe(cell['cell_type'])})"
        source = cell.get("source", "")
        if isinstance(source, list):
            # Each line costs at least a character: the join's work stays within the limit.
            if total + len(source) > MAX_SOURCE_CHARS:
                return None, _too_much_text(index)
            try:
                source = "".join(source)
            except TypeError:
                return None, f"cell {index + 1} has no text source"
        if not isinstance(source, str):
            return None, f"cell {index + 1} has no text source"
        total += len(source)
        if total > MAX_SOURCE_CHARS:
            return None, _too_much_text(index)
        texts.append(source)
    return texts, ""


def _too_much_text(index: int) -> str:
    return (
        f"the notebook's cells hold over {MAX_SOURCE_CHARS:,} characters of text (passed in "
        f"cell {index + 1}; a lesson has about 15,000)"
    )


def _describe(value) -> str:
    """A short description of a JSON value, safe however large or deep it is."""
    if type(value) is str:
        return repr(value) if len(value) <= 40 else f"a string of {len(value)} characters"
    if value is None:
        return "None"
    if type(value) in (bool, float) or (type(value) is int and value.bit_length() < 64):
        return repr(value)
    return type(value).__name__


def _cell_id(value, index: int, seen: set[str]) -> str:
    """The student's cell id when nbformat accepts it and it is new, else a fresh one."""
    if type(value) is str and _CELL_ID.fullmatch(value) and value not in seen:
        cid = value
    else:
        cid = f"cell-{index}"
        while cid in seen:
            cid += "x"
    seen.add(cid)
    return cid


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        if meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task"):
            return meta["grade_id"]
    return None


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def plan_submission(nb: dict, spec: NotebookSpec) -> Plan:
    """Apply nbgrader's autograde rules to ``nb`` and list what was out of place.

    Each pass looks at every cell once, so the work is linear in the notebook's size however
    many cells are missing (a deleted cell's place and a stripped cell's text are looked up,
    not searched for).
    """
    cells = [copy.deepcopy(c) for c in nb["cells"]]
    notes: list[str] = []
    # Duplicated ids: as nbgrader's DeduplicateIds, the LAST copy keeps the id.
    seen: set[str] = set()
    duplicated: dict[str, int] = {}
    for cell in reversed(cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        if gid in seen:
            cell["metadata"]["nbgrader"] = {}
            duplicated[gid] = duplicated.get(gid, 0) + 1
        else:
            seen.add(gid)
    for gid, extra in duplicated.items():
        copies = f" ({extra + 1} copies)" if extra > 1 else ""
        notes.append(f"cell {gid} duplicated{copies}; only its last copy counts")
    known = {c.grade_id: c for c in spec.cells}
    present: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        source_cell = known.get(gid)
        if source_cell is None:
            cell["metadata"]["nbgrader"].pop("grade_id", None)
            unknown.append(gid)
            continue
        present[gid] = index
        if cell["cell_type"] != source_cell.cell_type:
            notes.append(
                f"cell {gid} was changed from {source_cell.cell_type} to {cell['cell_type']}; "
                "its type was restored"
            )
            _set_type(cell, source_cell.cell_type)
        meta = cell["metadata"]["nbgrader"]
        meta.update(copy.deepcopy(source_cell.nbgrader))
        if source_cell.locked and _normal(cell["source"]) != _normal(source_cell.student_source):
            if source_cell.role != "test":
                notes.append(f"locked cell {gid} was edited; the instructor's version was used")
            else:
                notes.append(f"test cell {gid} was edited; the instructor's tests were run")
        if source_cell.locked:
            cell["source"] = source_cell.student_source
    if unknown:
        notes.append(_unknown_ids_note(unknown))
    cells = _restore_missing(cells, spec, present, notes)
    steps, answered, student_code = [], {}, {}
    for index, cell in enumerate(cells):
        gid = _grade_id(cell)
        source_cell = known.get(gid) if gid else None
        if source_cell is not None and source_cell.role in ("solution", "manual", "task"):
            answered[gid] = _checksum(cell) != source_cell.checksum
            if source_cell.role == "solution":
                student_code[gid] = cell["source"]
        if cell["cell_type"] != "code":
            continue
        if source_cell is not None and source_cell.role == "test":
            steps.append({"kind": "test", "i": index, "step": gid})
        else:
            steps.append({"kind": "code", "i": index, "source": cell["source"]})
    prelude_ok = _mark_prelude(steps, spec.prelude)
    if spec.prelude and not prelude_ok:
        notes.append("the cells before the first exercise were changed; they were run as submitted")
    return Plan(cells, steps, notes, answered, student_code, prelude_ok)


def _unknown_ids_note(ids: list[str], limit: int = 5) -> str:
    if len(ids) == 1:
        return f"cell with unknown id {ids[0]!r} treated as an ordinary cell"
    shown = ", ".join(repr(g) for g in ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"{len(ids)} cells with unknown ids ({shown}{more}) treated as ordinary cells"


def _restore_missing(cells: list[dict], spec: NotebookSpec, present: dict, notes: list) -> list:
    """``cells`` with the instructor's tracked cells that the submission lacks put back.

    A cell that lost its nbgrader metadata is recognised by its released text; a deleted test
    or locked cell is restored right after the nearest earlier tracked cell of the instructor's
    notebook that is present (restored ones included), or at the end.
    """
    missing = [c for c in spec.cells if c.grade_id not in present]
    if not missing:
        return cells
    stripped = _match_stripped(cells, [c for c in missing if c.role in ("test", "locked")])
    # Restored cells by the index of the cell they follow (None: the end, after those that
    # follow the last cell).  Since the instructor's cells are taken in order, a restored cell
    # follows the cells restored before it after the same cell.
    after: dict[int | None, list[dict]] = {}
    anchor: int | None = None
    for source_cell in spec.cells:
        gid = source_cell.grade_id
        if gid in present:
            anchor = present[gid]
        elif gid in stripped:
            notes.append(f"cell {gid} lost its nbgrader metadata; it was recognised by its text")
            cell = cells[stripped[gid]]
            _set_type(cell, source_cell.cell_type)
            cell["metadata"]["nbgrader"] = copy.deepcopy(source_cell.nbgrader)
            if source_cell.locked:
                cell["source"] = source_cell.student_source
            anchor = present[gid] = stripped[gid]
        elif source_cell.role in ("test", "locked"):
            after.setdefault(anchor, []).append(_restored_cell(source_cell))
            notes.append(f"cell {gid} deleted; restored from the instructor's version")
        else:
            notes.append(f"cell {gid} deleted")
    if not after:
        return cells
    out = []
    for index, cell in enumerate(cells):
        out.append(cell)
        out.extend(after.get(index, ()))
    out.extend(after.get(None, ()))
    return out


def _match_stripped(cells: list[dict], wanted: list) -> dict[str, int]:
    """For each of ``wanted`` (in order), the first cell without nbgrader metadata whose text is
    its released text: grade_id -> index.  One pass over the cells."""
    by_text: dict[str, list[str]] = {}
    for source_cell in wanted:
        want = _normal(source_cell.student_source)
        if want:
            by_text.setdefault(want, []).append(source_cell.grade_id)
    found: dict[str, int] = {}
    if not by_text:
        return found
    for index, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and meta.get("grade_id"):
            continue
        gids = by_text.get(_normal(cell["source"]))
        if gids:
            found[gids.pop(0)] = index
    return found


def _mark_prelude(steps: list[dict], prelude: list[str]) -> bool:
    """Mark the leading code steps that are exactly the instructor's prelude."""
    if not prelude or len(steps) < len(prelude):
        return False
    head = steps[: len(prelude)]
    if any(s["kind"] != "code" or s["source"] != p for s, p in zip(head, prelude, strict=True)):
        return False
    for step in head:
        step["prelude"] = True
    return True


def _checksum(cell: dict) -> str:
    """nbgrader's checksum of a cell (how it tells an untouched answer from a changed one)."""
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    return compute_checksum(from_dict(cell))


def _set_type(cell: dict, cell_type: str) -> None:
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _restored_cell(source_cell) -> dict:
    cell = {
        "cell_type": source_cell.cell_type,
        "metadata": {
            "deletable": False,
            "editable": False,
            "nbgrader": copy.deepcopy(source_cell.nbgrader),
        },
        "source": source_cell.student_source,
    }
    if source_cell.cell_type == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell
