"""Reading submitted notebooks defensively, and lining them up with the instructor's version.

:func:`load_submission` turns whatever file a student handed in into a clean nbformat-4
notebook or a specific reason why not ("not valid JSON: ...", "not UTF-8 text: ...",
"nbformat 5.0 is not supported ...").  :func:`plan_submission` then applies nbgrader's
autograde rules to it -- duplicated grade ids keep their last copy, cells whose type was
changed get their type back, locked cells get the instructor's text back, deleted test cells are
restored -- and lists each deviation as a note.  The plan says which code runs in the sandbox and
where each test happens; test cells are never run from the submission's text.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from convcourse.instructor.assignment import NotebookSpec

__all__ = ["Loaded", "Plan", "load_submission", "load_submission_bytes", "plan_submission"]

DEFAULT_MAX_NOTEBOOK_MB = 32
_CELL_TYPES = ("code", "markdown", "raw")


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


def load_submission_bytes(data: bytes, max_mb: float = DEFAULT_MAX_NOTEBOOK_MB) -> Loaded:
    notes: list[str] = []
    if len(data) > max_mb * 2**20:
        return Loaded(
            None,
            "invalid",
            f"the notebook is {len(data) / 2**20:.1f} MB, over the {max_mb:g} MB limit",
        )
    if not data.strip():
        return Loaded(None, "invalid", "the notebook file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        notes.append("the file starts with a UTF-8 byte-order mark (ignored)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        line = data[: exc.start].count(b"\n") + 1
        return Loaded(
            None, "invalid", f"not UTF-8 text: byte 0x{bad} at offset {exc.start} (line {line})"
        )
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return Loaded(
            None, "invalid", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        )
    except RecursionError:
        return Loaded(None, "invalid", "not valid JSON: nested too deeply")
    if not isinstance(raw, dict):
        return Loaded(None, "invalid", f"not a notebook: the JSON is a {type(raw).__name__}")
    major, minor = raw.get("nbformat"), raw.get("nbformat_minor", 0)
    if type(major) is not int:
        return Loaded(None, "invalid", "not a notebook: no nbformat version number")
    if major == 3:
        try:
            import nbformat

            nb3 = nbformat.reads(text, as_version=3)
            raw = json.loads(nbformat.writes(nbformat.convert(nb3, 4)))
        except Exception as exc:
            return Loaded(None, "invalid", f"nbformat 3 notebook that cannot be converted: {exc}")
        notes.append("nbformat 3 notebook converted to nbformat 4")
    elif major != 4:
        return Loaded(
            None,
            "invalid",
            f"nbformat {major}.{minor} is not supported (the grader reads nbformat 4, and "
            "converts nbformat 3)",
        )
    cells = raw.get("cells")
    if not isinstance(cells, list):
        return Loaded(None, "invalid", "not a notebook: it has no list of cells")
    clean = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES:
            kind = cell.get("cell_type") if isinstance(cell, dict) else type(cell).__name__
            return Loaded(None, "invalid", f"cell {index + 1} is not a notebook cell ({kind!r})")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            return Loaded(None, "invalid", f"cell {index + 1} has no text source")
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbg = metadata.get("nbgrader")
        if nbg is not None and not isinstance(nbg, dict):
            metadata = {k: v for k, v in metadata.items() if k != "nbgrader"}
            notes.append(f"cell {index + 1} has malformed nbgrader metadata (ignored)")
        new = {
            "cell_type": cell["cell_type"],
            "metadata": copy.deepcopy(metadata),
            "source": source,
        }
        if isinstance(cell.get("id"), str):
            new["id"] = cell["id"]
        if new["cell_type"] == "code":
            new["outputs"], new["execution_count"] = [], None
        clean.append(new)
    meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    nb = {"cells": clean, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    return Loaded(nb, "ok", "", notes)


def _grade_id(cell: dict) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        if meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task"):
            return meta["grade_id"]
    return None


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def plan_submission(nb: dict, spec: NotebookSpec) -> Plan:
    """Apply nbgrader's autograde rules to ``nb`` and list what was out of place."""
    cells = [copy.deepcopy(c) for c in nb["cells"]]
    notes: list[str] = []
    # Duplicated ids: as nbgrader's DeduplicateIds, the LAST copy keeps the id.
    seen: set[str] = set()
    for cell in reversed(cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        if gid in seen:
            cell["metadata"]["nbgrader"] = {}
            notes.append(f"cell {gid} duplicated; only its last copy counts")
        else:
            seen.add(gid)
    known = {c.grade_id: c for c in spec.cells}
    present: dict[str, int] = {}
    for index, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        source_cell = known.get(gid)
        if source_cell is None:
            cell["metadata"]["nbgrader"].pop("grade_id", None)
            notes.append(f"cell with unknown id {gid!r} treated as an ordinary cell")
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
    # Cells missing from the submission.
    for source_cell in spec.cells:
        gid = source_cell.grade_id
        if gid in present:
            continue
        stripped = _find_stripped(cells, source_cell)
        if stripped is not None:
            notes.append(f"cell {gid} lost its nbgrader metadata; it was recognised by its text")
            cell = cells[stripped]
            _set_type(cell, source_cell.cell_type)
            cell["metadata"]["nbgrader"] = copy.deepcopy(source_cell.nbgrader)
            if source_cell.locked:
                cell["source"] = source_cell.student_source
            present[gid] = stripped
            continue
        if source_cell.role in ("test", "locked"):
            at = _insert_position(cells, spec, source_cell)
            cells.insert(at, _restored_cell(source_cell))
            present = {g: (i + 1 if i >= at else i) for g, i in present.items()}
            present[gid] = at
            notes.append(f"cell {gid} deleted; restored from the instructor's version")
        else:
            notes.append(f"cell {gid} deleted")
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


def _find_stripped(cells: list[dict], source_cell) -> int | None:
    """A cell without nbgrader metadata whose text is the released text of ``source_cell``."""
    if source_cell.role not in ("test", "locked"):
        return None
    want = _normal(source_cell.student_source)
    for index, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and meta.get("grade_id"):
            continue
        if want and _normal(cell["source"]) == want:
            return index
    return None


def _insert_position(cells: list[dict], spec: NotebookSpec, missing) -> int:
    """Right after the nearest earlier tracked cell of the instructor notebook that is present."""
    earlier = [c.grade_id for c in spec.cells if c.position < missing.position]
    for gid in reversed(earlier):
        for index, cell in enumerate(cells):
            if _grade_id(cell) == gid:
                return index + 1
    return len(cells)


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
