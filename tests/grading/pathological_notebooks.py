"""Pathological submitted notebooks for the loader: files that once aborted a batch or held the
grader's main thread (deep metadata, lone surrogates, 200,000 cells, 30 MB of text), and their
neighbours.  Each case builds its bytes on demand (some are tens of MB) and says what the loader
must make of them: "ok" with notes containing ``words``, or "invalid" with a reason containing
them.  The limits are imported, so a case sits just past the limit it tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from convcourse.instructor.intake.notebook_io import (
    MAX_CELLS,
    MAX_JSON_CONTAINERS,
    MAX_SOURCE_CHARS,
)
from convcourse.instructor.intake.notebook_metadata import (
    MAX_CELL_METADATA,
    MAX_DEPTH,
    MAX_TOTAL_METADATA,
)

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass
class Case:
    name: str
    build: Callable[[], bytes]
    status: str  # "ok" | "invalid"
    words: tuple[str, ...]  # in the notes ("ok") or the reason ("invalid")


def notebook(cells: list[dict], metadata: dict | None = None, minor: int = 5) -> dict:
    meta = {"kernelspec": dict(KERNELSPEC)} if metadata is None else metadata
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": minor}


def code(source="pass", metadata=None, **extra) -> dict:
    cell = {"cell_type": "code", "metadata": metadata or {}, "source": source}
    cell.update(outputs=[], execution_count=None)
    cell.update(extra)
    return cell


def markdown(source="text", metadata=None) -> dict:
    return {"cell_type": "markdown", "metadata": metadata or {}, "source": source}


def nested(depth: int, leaf=0):
    """A list nested ``depth`` deep around ``leaf``."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def tracked(grade_id: str, **changes) -> dict:
    """nbgrader metadata of a graded answer cell, as generate_assignment writes it."""
    meta = {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    meta.update(changes)
    return meta


def dumps(nb) -> bytes:
    return json.dumps(nb).encode("utf-8")


def _surrogates() -> bytes:
    # json.dumps writes a lone surrogate as the escape "\ud800": legal JSON text.
    nb = notebook(
        [
            markdown(["# A heading \ud800\n", "and more \udfff text"]),
            code("x = '\udc00'", {"tags": ["ok", "bad\ud801"], "note\ud802": "v\ud803"}),
            markdown("a real pair stays: \U0001f600"),
        ],
        {"kernelspec": dict(KERNELSPEC), "title": "t\ud804"},
    )
    return dumps(nb)


def _many_lists() -> bytes:
    # Ten million empty lists in an output (outputs are dropped, but json.loads makes them).
    out = b'{"output_type":"stream","name":"stdout","text":"","x":[' + b"[]," * 10_000_000
    cell = b'{"cell_type":"code","metadata":{},"source":"","outputs":[' + out + b"[]]}]}"
    return b'{"nbformat":4,"nbformat_minor":5,"metadata":{},"cells":[' + cell + b"]}"


def _bracket_output() -> bytes:
    # An honest mistake: printing a long nested list.  Its brackets are inside a string.
    text = str([[i, i + 1] for i in range(MAX_JSON_CONTAINERS)])
    out = {"output_type": "stream", "name": "stdout", "text": [text]}
    return dumps(notebook([code("print(pairs)", outputs=[out])]))


def _tiny_output_strings() -> bytes:
    # A 27 MB output of three million one-line strings (a print in a long loop): no containers.
    out = {"output_type": "stream", "name": "stdout", "text": ["[e]\n"] * 3_000_000}
    return dumps(notebook([code("train()", outputs=[out])]))


def _over_total_metadata() -> bytes:
    each = MAX_CELL_METADATA - 1000
    count = MAX_TOTAL_METADATA // each + 3
    cells = [
        code(f"x{i} = {i}", {"blob": "m" * each, "editable": True, "nbgrader": tracked(f"a{i}")})
        for i in range(count)
    ]
    return dumps(notebook(cells))


def _v3(cells: list[dict]) -> bytes:
    nb = {"metadata": {"name": "old"}, "nbformat": 3, "nbformat_minor": 0}
    nb["worksheets"] = [{"cells": cells, "metadata": {}}]
    return dumps(nb)


REJECTED = [
    Case(
        "200000_markdown_cells",
        lambda: dumps(notebook([markdown("")] * 200_000)),
        "invalid",
        (f"over the limit of {MAX_JSON_CONTAINERS:,}", "it seems to have 200,000 cells"),
    ),
    Case(
        "200000_code_cells",
        lambda: dumps(notebook([{"cell_type": "code", "source": "1"}] * 200_000)),
        "invalid",
        ("objects and lists", "200,000 cells"),
    ),
    Case(
        "one_cell_over_the_cell_limit",
        lambda: dumps(notebook([{"cell_type": "raw", "source": ""}] * (MAX_CELLS + 1))),
        "invalid",
        (f"the notebook has {MAX_CELLS + 1:,} cells, over the limit of {MAX_CELLS:,}",),
    ),
    Case(
        "30MB_of_text",
        lambda: dumps(notebook([code("x" * 30_000_000)])),
        "invalid",
        (f"over {MAX_SOURCE_CHARS:,} characters of text", "cell 1"),
    ),
    Case(
        "text_just_over_the_limit_in_the_last_cell",
        lambda: dumps(notebook([code("x" * (MAX_SOURCE_CHARS // 2))] * 2 + [markdown("y")])),
        "invalid",
        (f"over {MAX_SOURCE_CHARS:,} characters of text", "cell 3"),
    ),
    Case(
        "two_million_empty_lines",
        lambda: dumps(notebook([code([""] * 2_000_000)])),
        "invalid",
        ("characters of text",),
    ),
    Case(
        "a_million_brackets", lambda: b"[" * 1_000_000, "invalid", ("1,000,000 objects and lists",)
    ),
    Case(
        "json_nested_5000_deep",
        lambda: (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code",'
            b' "source": "1", "metadata": {"deep": ' + b"[" * 5000 + b"]" * 5000 + b"}}]}"
        ),
        "invalid",
        ("not valid JSON: nested too deeply",),
    ),
    Case(
        "ten_million_lists_in_an_output",
        _many_lists,
        "invalid",
        ("10,000,009 objects and lists", f"over the limit of {MAX_JSON_CONTAINERS:,}"),
    ),
    Case(
        "an_integer_of_5000_digits",
        lambda: b'{"nbformat": 4, "cells": [], "metadata": {"n": ' + b"7" * 5000 + b"}}",
        "invalid",
        ("not valid JSON", "4300 digits"),
    ),
    Case(
        "a_cell_type_nested_900_deep",
        lambda: dumps(notebook([{"cell_type": nested(900), "source": ""}])),
        "invalid",
        ("cell 1 is not a notebook cell (list)",),
    ),
    Case(
        "a_30MB_cell_type",
        lambda: dumps(notebook([{"cell_type": "c" * 30_000_000, "source": ""}])),
        "invalid",
        ("cell 1 is not a notebook cell (a string of 30000000 characters)",),
    ),
    Case(
        "nbformat_5_with_a_deep_minor",
        lambda: dumps({"nbformat": 5, "nbformat_minor": nested(900), "cells": []}),
        "invalid",
        ("nbformat 5 is not supported",),
    ),
    Case(
        "nbformat_3_with_200000_cells",
        lambda: _v3([{"cell_type": "markdown", "source": ""}] * 200_000),
        "invalid",
        ("objects and lists", "200,000 cells"),
    ),
    Case(
        "nbformat_3_over_the_cell_limit",
        lambda: _v3([{"cell_type": "markdown", "source": ""}] * (MAX_CELLS + 1)),
        "invalid",
        (f"the notebook has {MAX_CELLS + 1:,} cells",),
    ),
    Case(
        "nbformat_3_without_worksheet_cells",
        lambda: dumps({"nbformat": 3, "worksheets": [{"cells": 3}], "metadata": {}}),
        "invalid",
        ("nbformat 3 notebook that cannot be converted: a worksheet has no list of cells",),
    ),
]

ACCEPTED = [
    Case(
        "cell_metadata_nested_700_deep",
        lambda: dumps(
            notebook([code("x = 1", {"a": nested(700), "nbgrader": tracked("a1"), "tags": ["t"]})])
        ),
        "ok",
        (f"the metadata of cell 1 is nested more than {MAX_DEPTH} levels deep",),
    ),
    Case(
        "notebook_metadata_nested_700_deep",
        lambda: dumps(notebook([code()], {"kernelspec": dict(KERNELSPEC), "w": nested(700)})),
        "ok",
        (f"the notebook's metadata is nested more than {MAX_DEPTH} levels deep",),
    ),
    Case(
        "lone_surrogates",
        _surrogates,
        "ok",
        (
            "7 unpaired surrogate characters",
            "in cells 1 and 2 and the notebook's metadata",
            "replaced by U+FFFD",
        ),
    ),
    Case(
        "cell_metadata_of_100KB",
        lambda: dumps(notebook([code("1", {"blob": "b" * 100_000, "collapsed": True})])),
        "ok",
        ("the metadata of cell 1 is over 64 KB",),
    ),
    Case(
        "over_the_total_metadata",
        _over_total_metadata,
        "ok",
        ("comes after the notebook's first 2 MB of metadata",),
    ),
    Case(
        "malformed_nbgrader_points",
        lambda: dumps(notebook([code("1", {"nbgrader": tracked("a1", points="5", grade=True)})])),
        "ok",
        ("cell 1 has malformed nbgrader metadata", "its points is '5'"),
    ),
    Case(
        "malformed_nbgrader_grade_id",
        lambda: dumps(notebook([markdown("1", {"nbgrader": tracked(["a1"])})] * 3)),
        "ok",
        ("cells 1, 2 and 3 have malformed nbgrader metadata", "its grade_id is a list"),
    ),
    Case(
        "nbgrader_metadata_that_is_a_string",
        lambda: dumps(notebook([code("1", {"nbgrader": "yes"})])),
        "ok",
        ("cell 1 has malformed nbgrader metadata", "it is 'yes', not an object"),
    ),
    Case(
        "jupyter_keys_of_the_wrong_shape",
        lambda: dumps(
            notebook(
                [code("1", {"tags": ["a,b"], "collapsed": "yes"}), markdown("m", {"tags": "x"})],
                {"kernelspec": {"display_name": "no name"}},
            )
        ),
        "ok",
        (
            "the notebook's kernelspec metadata is not in Jupyter's format",
            "the tags metadata of cells 1 and 2 is not in Jupyter's format",
            "the collapsed metadata of cell 1",
        ),
    ),
    Case(
        "nan_in_metadata",
        lambda: (
            b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": NaN}, "cells": [{"cell_type":'
            b' "code", "source": "1", "metadata": {"y": [Infinity, -Infinity, 1e999]}}]}'
        ),
        "ok",
        ("4 NaN or Infinity values in the metadata (not valid JSON) were replaced by null",),
    ),
    Case("brackets_printed_in_an_output", _bracket_output, "ok", ()),
    Case("three_million_output_lines", _tiny_output_strings, "ok", ()),
    Case(
        "at_the_cell_and_text_limits",
        lambda: dumps(notebook([code("x" * (MAX_SOURCE_CHARS // MAX_CELLS))] * MAX_CELLS)),
        "ok",
        (),
    ),
    Case(
        "metadata_at_the_depth_limit",
        lambda: dumps(notebook([code("1", {"a": nested(MAX_DEPTH - 1)})])),
        "ok",
        (),
    ),
    Case(
        "nbformat_3_heading_and_code",
        lambda: _v3(
            [
                {"cell_type": "heading", "level": 2, "source": ["Two\n", "lines"]},
                {"cell_type": "code", "input": ["x = 1\n", "y = 2"], "collapsed": True},
            ]
        ),
        "ok",
        ("nbformat 3 notebook converted to nbformat 4",),
    ),
]
