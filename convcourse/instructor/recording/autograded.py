"""The autograded notebook: the submission as ``nbgrader autograde`` would leave it.

Cells sanitized by the plan, each test cell's output replaced by the grader's verdict, the
outputs that came back from the sandbox reduced to well-formed nbformat text (as UTF-8 can
store it), unique cell ids.  nbgrader's formgrader and ``generate_feedback`` read it.
"""

from __future__ import annotations

import re

from convcourse.instructor.files import write_atomic
from convcourse.instructor.judging.verdicts import CellResult

__all__ = ["autograded_notebook", "autograded_texts", "scrub", "write_autograded"]

_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def autograded_notebook(nb: dict, plan, results: list[CellResult], outputs: dict) -> dict:
    """The submission as nbgrader's autograde would leave it: sanitized cells with outputs."""
    by_id = {r.grade_id: r for r in results}
    cells = []
    count = 0
    for index, cell in enumerate(plan.cells):
        cell = dict(cell)
        if cell["cell_type"] == "code":
            gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            frame = outputs.get(index)
            if gid in by_id:
                count += 1
                cell["execution_count"] = count
                cell["outputs"] = _verdict_outputs(by_id[gid])
            elif frame is not None:
                count += 1
                cell["execution_count"] = count
                cell["outputs"] = _clean_outputs(frame.get("outputs"))
            else:
                cell["execution_count"] = None
                cell["outputs"] = []
        cells.append(cell)
    # nbformat 4.5 wants a unique id per cell: keep the student's where they are usable.
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        cid = cell.get("id")
        if not isinstance(cid, str) or not _CELL_ID.match(cid) or cid in seen:
            cid = f"cell-{index}"
            while cid in seen:
                cid += "x"
            cell["id"] = cid
        seen.add(cid)
    metadata = dict(nb.get("metadata", {}))
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def _verdict_outputs(result: CellResult) -> list[dict]:
    if result.passed:
        return [{"output_type": "stream", "name": "stdout", "text": result.message + "\n"}]
    return [
        {
            "output_type": "error",
            "ename": "CheckFailed",
            "evalue": result.message,
            "traceback": result.message.splitlines() or ["CheckFailed"],
        }
    ]


def _clean_outputs(raw) -> list[dict]:
    """Outputs from the sandbox, reduced to well-formed nbformat text outputs."""
    out = []
    if not isinstance(raw, list):
        return out
    for o in raw[:50]:
        if not isinstance(o, dict):
            continue
        output_type = o.get("output_type")
        if output_type == "stream" and o.get("name") in ("stdout", "stderr"):
            out.append(
                {"output_type": "stream", "name": o["name"], "text": _text(o.get("text", ""))}
            )
        elif output_type in ("display_data", "execute_result"):
            data = o.get("data") if isinstance(o.get("data"), dict) else {}
            item = {
                "output_type": output_type,
                "data": {"text/plain": _text(data.get("text/plain", ""))},
                "metadata": {},
            }
            if output_type == "execute_result":
                item["execution_count"] = None
            out.append(item)
        elif output_type == "error":
            tb = o.get("traceback") if isinstance(o.get("traceback"), list) else []
            out.append(
                {
                    "output_type": "error",
                    "ename": _text(o.get("ename", "Error")),
                    "evalue": _text(o.get("evalue", "")),
                    "traceback": [_text(x) for x in tb],
                }
            )
    return out


def _text(value) -> str:
    """Text from the sandbox as UTF-8 can store it (a lone surrogate printed by a submission
    would make the autograded notebook unwritable)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def scrub(value):
    """``value`` with every lone surrogate in its strings replaced (U+FFFD)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def autograded_texts(autograded: dict[str, dict]) -> dict[str, str]:
    """Each autograded notebook as the text nbformat writes (raises if it cannot be written)."""
    import nbformat

    texts = {}
    for name, nb in autograded.items():
        text = nbformat.writes(nbformat.from_dict(nb), version=4)
        text.encode("utf-8")  # a lone surrogate fails here, before anything is written
        texts[name] = text
    return texts


def write_autograded(layout, spec, task, texts: dict[str, str]) -> None:
    folder = layout.autograded_dir(task.student_id, spec.assignment_id)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        write_atomic(folder / f"{name}.ipynb", text)
    for name in spec.notebooks:
        if name not in texts:
            (folder / f"{name}.ipynb").unlink(missing_ok=True)
    if task.timestamp:
        write_atomic(folder / "timestamp.txt", task.timestamp + "\n")
