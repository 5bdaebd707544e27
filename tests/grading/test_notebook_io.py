"""Reading submissions defensively and lining them up with the instructor's notebook (no
sandbox needed): every broken format gets a specific reason, every deviation a note."""

from __future__ import annotations

import copy
import json

import pytest

from convcourse.instructor.assignment import SpecError, parse_test_cell
from convcourse.instructor.notebook_io import load_submission_bytes, plan_submission

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
    from convcourse.instructor.assignment import check_registry

    with pytest.raises(SpecError, match=words):
        parse_test_cell("nb", "test-x", source, check_registry())


def test_the_speed_check_level_picks_the_exercise():
    from convcourse.instructor.assignment import check_registry

    calls = parse_test_cell("nb", "t", 'check_corr2d_speed(corr2d_fast, "full")', check_registry())
    assert calls[0].exercise == "corr2d-speed-full" and calls[0].args == ["corr2d_fast"]


def test_the_cheap_slot_setup_agrees_with_the_spec():
    """The sandboxes start from ``slot_setup`` before the spec is read: both must agree."""
    from pathlib import Path

    from convcourse.instructor.assignment import load_spec, slot_setup
    from convcourse.instructor.layout import CourseLayout

    # Not ``from conftest import REPO``: by the time this runs in a full session, ``conftest``
    # may name another folder's conftest module.
    layout = CourseLayout.load(Path(__file__).resolve().parents[2])
    for assignment in layout.assignments():
        spec = load_spec(layout, assignment)
        imports, prelude = slot_setup(layout, assignment)
        assert prelude == spec.prelude() and prelude
        assert set(imports) == set(spec.preload_modules())
