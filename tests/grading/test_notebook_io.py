"""Reading submissions defensively and lining them up with the instructor's notebook (no
sandbox needed): every broken format gets a specific reason, every deviation a note."""

from __future__ import annotations

import copy
import json
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pathological_notebooks import (
    ACCEPTED,
    KERNELSPEC,
    REJECTED,
    code,
    dumps,
    markdown,
    nested,
    notebook,
    tracked,
)

from convcourse.instructor.authoring.spec import CellSpec, NotebookSpec, SpecError, parse_test_cell
from convcourse.instructor.intake.notebook_io import (
    MAX_CELLS,
    MAX_JSON_CONTAINERS,
    MAX_SOURCE_CHARS,
    load_submission_bytes,
    plan_submission,
)
from convcourse.instructor.intake.notebook_metadata import (
    MAX_CELL_METADATA,
    MAX_DEPTH,
    MAX_TOTAL_METADATA,
)

ASSIGNMENT = "02_cross_correlation"


def _bytes(nb) -> bytes:
    return json.dumps(nb).encode()


def _index(nb, grade_id):
    return next(
        i
        for i, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id
    )


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b'{"cells": [', "not valid JSON: Expecting value at line 1"),
        (b"\xff\xfe{}", "not UTF-8 text: byte 0xff at offset 0"),
        (b"[1, 2]", "the JSON is a list"),
        (b'{"cells": []}', "no nbformat version"),
        (b'{"nbformat": 5, "nbformat_minor": 0, "cells": []}', "nbformat 5.0 is not supported"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "cells": {}}', "no list of cells"),
        (
            b'{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "bogus"}]}',
            "cell 1 is not a notebook cell ('bogus')",
        ),
        (
            b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 3}]}',
            "cell 1 has no text source",
        ),
        (b"[" * 100000, "not valid JSON"),
    ],
)
def test_broken_files_get_a_specific_reason(data, words):
    loaded = load_submission_bytes(data)
    assert loaded.nb is None and loaded.status == "invalid"
    assert words in loaded.detail


def test_size_limit():
    loaded = load_submission_bytes(b" " * (2 * 2**20), max_mb=1)
    assert loaded.nb is None and "2.0 MB, over the 1 MB limit" in loaded.detail


def test_byte_order_mark_and_nbformat3_are_accepted_with_a_note(honest_nb):
    import nbformat

    loaded = load_submission_bytes(b"\xef\xbb\xbf" + _bytes(honest_nb))
    assert loaded.nb is not None and "byte-order mark" in loaded.notes[0]
    v3 = nbformat.writes(nbformat.convert(nbformat.reads(json.dumps(honest_nb), 4), 3), 3)
    loaded = load_submission_bytes(v3.encode())
    assert loaded.nb is not None and loaded.notes == ["nbformat 3 notebook converted to nbformat 4"]


def test_an_honest_notebook_is_kept_as_it_is(honest_nb):
    loaded = load_submission_bytes(_bytes(honest_nb))
    assert loaded.notes == [] and loaded.nb["metadata"] == honest_nb["metadata"]
    for kept, cell in zip(loaded.nb["cells"], honest_nb["cells"], strict=True):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        assert (kept["cell_type"], kept["metadata"], kept["source"]) == (
            cell["cell_type"],
            cell["metadata"],
            source,
        )
        assert kept["id"] == cell.get("id", kept["id"])
    _written(loaded.nb)


def test_outputs_of_the_submission_are_dropped(honest_nb):
    nb = copy.deepcopy(honest_nb)
    cell = nb["cells"][_index(nb, "test-corr2d")]
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "All tests passed"}]
    loaded = load_submission_bytes(_bytes(nb))
    assert all(not c.get("outputs") for c in loaded.nb["cells"])


def _plan(lesson_spec, nb):
    spec, _ = lesson_spec
    loaded = load_submission_bytes(_bytes(nb))
    return plan_submission(loaded.nb, spec.notebooks[ASSIGNMENT])


def test_an_honest_notebook_needs_no_notes(lesson_spec, honest_nb):
    plan = _plan(lesson_spec, honest_nb)
    assert plan.notes == [] and plan.prelude_ok
    tests = [s["step"] for s in plan.steps if s["kind"] == "test"]
    assert tests == list(lesson_spec[0].notebooks[ASSIGNMENT].tests)
    assert all(plan.answered[g] for g in ("corr2d", "convolve2d", "fr-flip"))


def test_test_cells_never_run_the_submissions_text(lesson_spec, honest_nb):
    nb = copy.deepcopy(honest_nb)
    nb["cells"][_index(nb, "test-corr2d")]["source"] = "pass  # tests? what tests?"
    plan = _plan(lesson_spec, nb)
    assert "test cell test-corr2d was edited; the instructor's tests were run" in plan.notes
    step = next(s for s in plan.steps if s.get("step") == "test-corr2d")
    assert "source" not in step
    assert "check_corr2d(corr2d)" in plan.cells[step["i"]]["source"]


def test_deleted_duplicated_retyped_and_stripped_cells(lesson_spec, honest_nb):
    nb = copy.deepcopy(honest_nb)
    del nb["cells"][_index(nb, "test-convolve2d")]
    at = _index(nb, "test-corr2d")
    nb["cells"].insert(at, copy.deepcopy(nb["cells"][at]))
    answer = nb["cells"][_index(nb, "corr2d-matmul")]
    answer["cell_type"] = "markdown"
    nb["cells"][_index(nb, "test-output-shape")]["metadata"] = {}
    plan = _plan(lesson_spec, nb)
    assert "cell test-convolve2d deleted; restored from the instructor's version" in plan.notes
    assert "cell test-corr2d duplicated; only its last copy counts" in plan.notes
    assert "cell corr2d-matmul was changed from code to markdown; its type was restored" in (
        plan.notes
    )
    assert (
        "cell test-output-shape lost its nbgrader metadata; it was recognised by its text"
        in plan.notes
    )
    tests = [s["step"] for s in plan.steps if s["kind"] == "test"]
    assert sorted(tests) == sorted(lesson_spec[0].notebooks[ASSIGNMENT].tests)
    # The restored test comes right after the answer it tests.
    order = [
        plan.cells[s["i"]].get("metadata", {}).get("nbgrader", {}).get("grade_id")
        for s in plan.steps
    ]
    assert order.index("test-convolve2d") == order.index("convolve2d") + 1


def test_an_unanswered_stub_is_recognised(lesson_spec):
    spec, _ = lesson_spec
    stub = {c.grade_id: c.student_source for c in spec.notebooks[ASSIGNMENT].cells}
    cells = [
        {"cell_type": c.cell_type, "metadata": {"nbgrader": c.nbgrader}, "source": stub[c.grade_id]}
        for c in spec.notebooks[ASSIGNMENT].cells
    ]
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    plan = _plan(lesson_spec, nb)
    assert not any(plan.answered.values())


@pytest.mark.parametrize(
    "source, words",
    [
        ("assert corr2d(X, K).shape == (2, 2)", "not a call of a convcourse check"),
        ("check_nonsense(corr2d)", "not a check of convcourse.checks"),
        ("check_corr2d(corr2d, seed=random_seed())", "not understood"),
        ("check_corr2d(corr2d[0])", "not understood"),
        ("def f(:", "not valid Python"),
        ("import torch", "calls no check"),
    ],
)
def test_instructor_test_cells_must_be_check_calls(source, words):
    from convcourse.instructor.authoring.spec import check_registry

    with pytest.raises(SpecError, match=words):
        parse_test_cell("nb", "test-x", source, check_registry())


def test_the_speed_check_level_picks_the_exercise():
    from convcourse.instructor.authoring.spec import check_registry

    calls = parse_test_cell("nb", "t", 'check_corr2d_speed(corr2d_fast, "full")', check_registry())
    assert calls[0].exercise == "corr2d-speed-full" and calls[0].args == ["corr2d_fast"]


def test_the_cheap_slot_setup_agrees_with_the_spec():
    """The sandboxes start from ``slot_setup`` before the spec is read: both must agree."""
    from pathlib import Path

    from convcourse.instructor.authoring.spec import load_spec, slot_setup
    from convcourse.instructor.layout import CourseLayout

    # Not ``from conftest import REPO``: by the time this runs in a full session, ``conftest``
    # may name another folder's conftest module.
    layout = CourseLayout.load(Path(__file__).resolve().parents[2])
    for assignment in layout.assignments():
        spec = load_spec(layout, assignment)
        imports, prelude = slot_setup(layout, assignment)
        assert prelude == spec.prelude() and prelude
        assert set(imports) == set(spec.preload_modules())


# ----------------------------------------------------------------- pathological submissions


def _written(nb: dict) -> str:
    """What the grader does with a notebook it keeps: copy it, validate it, write it."""
    import nbformat

    copy.deepcopy(nb)
    json.dumps(nb, ensure_ascii=False).encode("utf-8")
    node = nbformat.from_dict(copy.deepcopy(nb))
    nbformat.validate(node)
    text = nbformat.writes(node, version=4)
    text.encode("utf-8")
    return text


def _timed_load(case):
    data = case.build()
    started = time.perf_counter()
    loaded = load_submission_bytes(data)
    seconds = time.perf_counter() - started
    print(f"{case.name}: {len(data) / 2**20:.1f} MB, {loaded.status} in {seconds:.3f} s")
    return loaded


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.name)
def test_absurd_notebooks_are_rejected_with_a_specific_reason(case):
    loaded = _timed_load(case)
    assert loaded.nb is None and loaded.status == "invalid"
    for words in case.words:
        assert words in loaded.detail
    assert len(loaded.detail) < 300  # a reason, not a copy of the file


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_odd_notebooks_are_kept_in_a_shape_nbformat_writes(case):
    loaded = _timed_load(case)
    assert loaded.status == "ok", loaded.detail
    text = _written(loaded.nb)
    joined = "\n".join(loaded.notes)
    for words in case.words:
        assert words in joined
    if not case.words:
        assert loaded.notes == []
    assert "\ud800" not in text and len(loaded.notes) <= 5


def _case(name):
    return next(c for c in ACCEPTED + REJECTED if c.name == name)


def test_what_is_kept_of_deep_metadata():
    nb = load_submission_bytes(_case("cell_metadata_nested_700_deep").build()).nb
    meta = nb["cells"][0]["metadata"]
    assert "a" not in meta and meta["tags"] == ["t"]
    assert meta["nbgrader"] == tracked("a1")
    nb = load_submission_bytes(_case("notebook_metadata_nested_700_deep").build()).nb
    assert nb["metadata"] == {"kernelspec": KERNELSPEC}


def test_the_depth_limit_itself():
    kept = load_submission_bytes(dumps(notebook([code("1", {"a": nested(MAX_DEPTH - 1)})])))
    assert kept.nb["cells"][0]["metadata"] == {"a": nested(MAX_DEPTH - 1)}
    over = load_submission_bytes(dumps(notebook([code("1", {"a": nested(MAX_DEPTH)})])))
    assert over.nb["cells"][0]["metadata"] == {}
    assert f"nested more than {MAX_DEPTH} levels deep" in over.notes[0]


def test_the_metadata_size_limits_themselves():
    def cell_with(chars):  # metadata {"b": "..."} of about ``chars`` JSON characters
        return code("1", {"b": "x" * (chars - 10)})

    loaded = load_submission_bytes(dumps(notebook([cell_with(MAX_CELL_METADATA)])))
    assert loaded.nb["cells"][0]["metadata"] and loaded.notes == []
    loaded = load_submission_bytes(dumps(notebook([cell_with(MAX_CELL_METADATA + 20)])))
    assert loaded.nb["cells"][0]["metadata"] == {} and "over 64 KB" in loaded.notes[0]
    loaded = load_submission_bytes(_case("over_the_total_metadata").build())
    metas = [c["metadata"] for c in loaded.nb["cells"]]
    kept = [m for m in metas if "blob" in m]
    assert sum(len(m["blob"]) for m in kept) <= MAX_TOTAL_METADATA
    assert len(kept) < len(metas) and all(m["editable"] is True for m in metas)
    assert [m["nbgrader"]["grade_id"] for m in metas] == [f"a{i}" for i in range(len(metas))]


def test_lone_surrogates_are_replaced_and_pairs_kept():
    nb = load_submission_bytes(_case("lone_surrogates").build()).nb
    first, second, third = nb["cells"]
    assert first["source"] == "# A heading \ufffd\nand more \ufffd text"
    assert second["source"] == "x = '\ufffd'"
    assert second["metadata"] == {"tags": ["ok", "bad\ufffd"], "note\ufffd": "v\ufffd"}
    assert third["source"] == "a real pair stays: \U0001f600"
    assert nb["metadata"]["title"] == "t\ufffd"


def test_a_backslash_u_in_the_text_is_not_a_surrogate():
    nb = notebook([markdown("caf\u00e9: \\ud800 is text here, not an escape")])
    data = json.dumps(nb, ensure_ascii=False).encode("utf-8")
    assert b"\\\\ud800" in data  # the escape search finds it, the repair changes nothing
    loaded = load_submission_bytes(data)
    assert loaded.notes == [] and loaded.nb["cells"][0]["source"] == nb["cells"][0]["source"]


def test_nbgrader_metadata_must_have_nbgraders_shape():
    shapes = {
        "points": "5",
        "grade": "yes",
        "grade_id": "has space",
        "schema_version": 3.0,
        "checksum": {"x": 1},
        "cell_type": "heading",
    }
    for key, value in shapes.items():
        nb = notebook([code("1", {"nbgrader": {**tracked("a1"), key: value}})])
        loaded = load_submission_bytes(dumps(nb))
        assert "nbgrader" not in loaded.nb["cells"][0]["metadata"], key
        assert f"its {key} is" in loaded.notes[0]
    loaded = load_submission_bytes(dumps(notebook([code("1", {"nbgrader": None})])))
    assert loaded.nb["cells"][0]["metadata"] == {} and "it is null" in loaded.notes[0]
    nb = notebook([code("1", {"nbgrader": tracked("a1", points=2.5, extra=[1])})])
    loaded = load_submission_bytes(dumps(nb))
    assert loaded.nb["cells"][0]["metadata"]["nbgrader"] == tracked("a1", points=2.5)
    assert loaded.notes == []


def test_cell_ids_are_valid_and_unique():
    cells = [code("1", id="keep-me"), code("2", id="keep-me"), code("3", id="bad id!")]
    cells += [code("4", id="x" * 65), code("5"), code("6", id="cell-4")]
    nb = load_submission_bytes(dumps(notebook(cells))).nb
    ids = [c["id"] for c in nb["cells"]]
    assert ids[0] == "keep-me" and len(set(ids)) == len(ids)
    assert ids[1:5] == ["cell-1", "cell-2", "cell-3", "cell-4"] and ids[5] == "cell-5"


def test_the_cell_and_text_limits_themselves():
    at = load_submission_bytes(_case("at_the_cell_and_text_limits").build())
    assert at.status == "ok" and len(at.nb["cells"]) == MAX_CELLS
    assert sum(len(c["source"]) for c in at.nb["cells"]) == MAX_SOURCE_CHARS
    over = [code("x" * (MAX_SOURCE_CHARS // MAX_CELLS))] * (MAX_CELLS - 1) + [
        code("xy" * 100 + "z")
    ]
    assert "characters of text" in load_submission_bytes(dumps(notebook(over))).detail
    assert "5,001 cells" in load_submission_bytes(dumps(notebook([code()] * 5001))).detail


def _exact_containers(value) -> int:
    count, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            count += 1
            stack.extend(v.values())
        elif isinstance(v, list):
            count += 1
            stack.extend(v)
    return count


def test_the_container_limit_itself():
    base = notebook([code("print(1)")])
    room = MAX_JSON_CONTAINERS - _exact_containers(base)
    base["cells"][0]["outputs"] = [[] for _ in range(room)]
    assert load_submission_bytes(dumps(base)).status == "ok"
    base["cells"][0]["outputs"].append([])
    loaded = load_submission_bytes(dumps(base))
    assert f"{MAX_JSON_CONTAINERS + 1:,} objects and lists" in loaded.detail


_json_text = st.text(alphabet='[]{}"\\,: ab\n\u00e9\U0001f600', max_size=12)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _json_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_json_text, inner, max_size=4),
    max_leaves=30,
)


@given(_json_values, st.booleans(), st.integers(0, 3))
def test_brackets_inside_strings_are_not_containers(value, ascii_only, indent):
    """The exact count (what a file over the quick bound pays for) agrees with json.loads."""
    import convcourse.instructor.intake.notebook_io as notebook_io

    data = json.dumps(value, ensure_ascii=ascii_only, indent=indent or None).encode("utf-8")
    exact = _exact_containers(value)
    original = notebook_io.MAX_JSON_CONTAINERS
    try:
        notebook_io.MAX_JSON_CONTAINERS = -1  # always take the exact path
        assert notebook_io._count_containers(data) == exact
    finally:
        notebook_io.MAX_JSON_CONTAINERS = original
    assert notebook_io._count_containers(data) >= exact  # the quick bound is an upper bound


# ------------------------------------------------------------- planning at the size limits


def _synthetic_spec(exercises: int, gap: int = 1) -> NotebookSpec:
    """An instructor notebook of ``exercises`` times (locked text, answer, test), with ``gap``
    ordinary cells between them, and its released notebook."""
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    cells, released, position = [], [], 0
    for k in range(exercises):
        for _ in range(gap):
            released.append(markdown(f"Some words before exercise {k}."))
            position += 1
        for gid, kind, role, src in (
            (f"intro-{k}", "markdown", "locked", f"## Exercise {k}"),
            (f"ans-{k}", "code", "solution", f"def f{k}(X):\n    raise NotImplementedError"),
            (f"test-{k}", "code", "test", f"check_f{k}(f{k})"),
        ):
            nbg = tracked(gid, solution=role == "solution", locked=role != "solution")
            if role == "test":
                nbg.update(grade=True, points=1)
            stub = {"cell_type": kind, "metadata": {"nbgrader": dict(nbg)}, "source": src}
            nbg.update(checksum=compute_checksum(from_dict(stub)), cell_type=kind)
            cells.append(
                CellSpec(
                    grade_id=gid,
                    cell_type=kind,
                    role=role,
                    points=float(role == "test"),
                    locked=role != "solution",
                    checksum=nbg["checksum"],
                    source=src,
                    student_source=src,
                    position=position,
                    nbgrader=nbg,
                )
            )
            released.append(
                (code if kind == "code" else markdown)(src, {"nbgrader": copy.deepcopy(nbg)})
            )
            position += 1
    tests = {c.grade_id: [] for c in cells if c.role == "test"}
    spec = NotebookSpec("synthetic", cells, tests, {}, {}, [])
    return spec, notebook(released)


def _quadratic_plan(nb: dict, spec: NotebookSpec):
    """The planner before it was made linear (cells and notes only): the reference."""
    from convcourse.instructor.intake.notebook_io import (
        _grade_id,
        _normal,
        _restored_cell,
        _set_type,
    )

    def find_stripped(cells, source_cell):
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

    def insert_position(cells, missing):
        earlier = [c.grade_id for c in spec.cells if c.position < missing.position]
        for gid in reversed(earlier):
            for index, cell in enumerate(cells):
                if _grade_id(cell) == gid:
                    return index + 1
        return len(cells)

    cells = [copy.deepcopy(c) for c in nb["cells"]]
    notes, seen = [], set()
    for cell in reversed(cells):
        gid = _grade_id(cell)
        if gid is not None and gid in seen:
            cell["metadata"]["nbgrader"] = {}
        elif gid is not None:
            seen.add(gid)
    known = {c.grade_id: c for c in spec.cells}
    present = {}
    for index, cell in enumerate(cells):
        gid = _grade_id(cell)
        if gid is None:
            continue
        source_cell = known.get(gid)
        if source_cell is None:
            cell["metadata"]["nbgrader"].pop("grade_id", None)
            continue
        present[gid] = index
        if cell["cell_type"] != source_cell.cell_type:
            _set_type(cell, source_cell.cell_type)
        cell["metadata"]["nbgrader"].update(copy.deepcopy(source_cell.nbgrader))
        if source_cell.locked:
            cell["source"] = source_cell.student_source
    for source_cell in spec.cells:
        gid = source_cell.grade_id
        if gid in present:
            continue
        stripped = find_stripped(cells, source_cell)
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
            at = insert_position(cells, source_cell)
            cells.insert(at, _restored_cell(source_cell))
            present = {g: (i + 1 if i >= at else i) for g, i in present.items()}
            present[gid] = at
            notes.append(f"cell {gid} deleted; restored from the instructor's version")
        else:
            notes.append(f"cell {gid} deleted")
    return cells, notes


def _mangle(nb: dict, rng: random.Random) -> dict:
    """A student's notebook: cells deleted, stripped, moved, duplicated, renamed, retyped."""
    cells = copy.deepcopy(nb["cells"])
    for cell in cells:
        roll = rng.random()
        if roll < 0.15:
            cell["metadata"] = {}
        elif roll < 0.2:
            cell["metadata"].get("nbgrader", {})["grade_id"] = f"other-{rng.randrange(3)}"
        elif roll < 0.25 and cell["cell_type"] == "code":
            cell["cell_type"] = "markdown"
    cells = [c for c in cells if rng.random() > 0.3]
    for _ in range(rng.randrange(4)):
        if cells:
            i, j = rng.randrange(len(cells)), rng.randrange(len(cells) + 1)
            cells.insert(j, cells.pop(i) if rng.random() < 0.5 else copy.deepcopy(cells[i]))
    return notebook(cells)


def test_the_linear_planner_restores_what_the_quadratic_one_did():
    spec, released = _synthetic_spec(4)
    for seed in range(300):
        nb = load_submission_bytes(dumps(_mangle(released, random.Random(seed)))).nb
        plan = plan_submission(nb, spec)
        cells, notes = _quadratic_plan(nb, spec)
        assert plan.cells == cells, seed
        kept = [n for n in plan.notes if "lost its" in n or "deleted" in n]
        assert kept == notes, seed
        _written({**nb, "cells": _with_ids(plan.cells)})


def _with_ids(cells: list[dict]) -> list[dict]:
    """Ids for restored cells (the autograded notebook gets them so, in task.py)."""
    seen = {c.get("id") for c in cells}
    out = []
    for index, cell in enumerate(cells):
        if "id" not in cell:
            cell = {**cell, "id": f"restored-{index}"}
            assert cell["id"] not in seen
        out.append(cell)
    return out


def test_planning_a_notebook_at_the_limits():
    """5,000 cells and the full text allowance, with every tracked cell deleted or stripped of
    its metadata: the planner looks at each cell once (times printed, not asserted)."""
    spec, released = _synthetic_spec(15)
    tracked_cells = [c for c in released["cells"] if c["metadata"].get("nbgrader")]
    filler = MAX_CELLS - len(tracked_cells[::2])
    text = "y = [x for x in range(10)]  # a long line\n" * 4
    each = (MAX_SOURCE_CHARS - 20_000) // filler
    cells = [markdown((text * (each // len(text) + 1))[:each]) for _ in range(filler)]
    for k, cell in enumerate(tracked_cells[::2]):  # the other half deleted
        cell = copy.deepcopy(cell)
        cell["metadata"] = {}
        cells.insert(len(cells) * k // len(tracked_cells[::2]), cell)
    loaded = load_submission_bytes(dumps(notebook(cells)))
    assert loaded.status == "ok" and len(loaded.nb["cells"]) == MAX_CELLS
    started = time.perf_counter()
    plan = plan_submission(loaded.nb, spec)
    linear = time.perf_counter() - started
    started = time.perf_counter()
    reference, _ = _quadratic_plan(loaded.nb, spec)
    quadratic = time.perf_counter() - started
    print(f"plan of {MAX_CELLS} cells: {linear:.3f} s (the quadratic planner: {quadratic:.3f} s)")
    assert plan.cells == reference
    assert sorted(s["step"] for s in plan.steps if s["kind"] == "test") == sorted(spec.tests)
    assert sum("deleted; restored" in n for n in plan.notes) > 0
    assert sum("recognised by its text" in n for n in plan.notes) > 0
    _written({**loaded.nb, "cells": _with_ids(plan.cells)})


def test_many_duplicates_and_unknown_ids_get_one_note_each():
    spec, released = _synthetic_spec(1)
    answer = next(c for c in released["cells"] if c["source"].startswith("def f0"))
    extra = [copy.deepcopy(answer) for _ in range(3)]
    strangers = [code("1", {"nbgrader": tracked(f"mine-{i}")}) for i in range(40)]
    nb = load_submission_bytes(dumps(notebook(released["cells"] + extra + strangers))).nb
    notes = plan_submission(nb, spec).notes
    assert notes[0] == "cell ans-0 duplicated (4 copies); only its last copy counts"
    assert notes[1].startswith("40 cells with unknown ids ('mine-0', 'mine-1'")
    assert notes[1].endswith("and 35 more) treated as ordinary cells") and len(notes) == 2


def test_a_plan_at_the_limits_fits_in_one_sandbox_request():
    """The code steps of a notebook at the cell and text limits, in the worst case for JSON
    (every character a control character, escaped as \\u00XX), stay within what the
    sandbox's codec accepts in one request (8 MB of JSON header, 200,000 values)."""
    from convcourse.instructor.sandbox.inside import codec

    spec, _ = _synthetic_spec(1)
    each = MAX_SOURCE_CHARS // MAX_CELLS
    cells = [code("\x01" * each) for _ in range(MAX_CELLS)]
    loaded = load_submission_bytes(dumps(notebook(cells)))
    assert loaded.status == "ok"
    plan = plan_submission(loaded.nb, spec)
    assert len(plan.steps) == MAX_CELLS + 1  # and the restored test cell
    message = codec.encode({"cells": plan.steps})
    print(f"request of {len(message) / 2**20:.1f} MB for {MAX_CELLS} cells")
    decoded = codec.decode(message, codec.Limits(max_bytes=2**28, max_string=2**28))
    assert decoded["cells"] == plan.steps
