"""The student release is generated from the instructor notebooks, byte-stable, and checked."""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest
from course_facts import ROOT, source_path, tool_env
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from convcourse.instructor.authoring import release


def test_committed_release_is_in_sync_with_the_sources():
    # The CI step: regenerate in a temporary folder, compare byte for byte, exit 1 if not.
    proc = subprocess.run(
        [sys.executable, "-m", "convcourse.instructor.release", "--check"],
        cwd=ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "in sync" in proc.stdout


@pytest.fixture
def repo_copy(tmp_path):
    for name in ("solutions", "notebooks"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    return tmp_path


@pytest.mark.slow
def test_check_names_every_file_out_of_sync_and_release_repairs_it(repo_copy):
    lesson = "03_conv_layer"
    path = repo_copy / "solutions" / lesson / f"{lesson}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA sentence added to the objectives."
    nbformat.write(nb, path)
    stray = repo_copy / "notebooks" / lesson / "notes.txt"
    stray.write_text("edited by hand\n")
    untouched = (repo_copy / "notebooks" / "00_index.ipynb").read_bytes()

    with pytest.raises(release.NotInSync) as err:
        release.release(repo_copy, [lesson], check=True)
    assert err.value.files == [
        f"notebooks/{lesson}/{lesson}.ipynb",
        f"notebooks/{lesson}/notes.txt",
    ]
    assert "python -m convcourse.instructor.release" in str(err.value)

    changed = release.release(repo_copy, [lesson])
    assert changed == err.value.files
    assert not stray.exists()
    released = nbformat.read(repo_copy / "notebooks" / lesson / f"{lesson}.ipynb", 4)
    assert "A sentence added to the objectives." in released.cells[0].source
    assert release.release(repo_copy, [lesson], check=True) == []
    assert (repo_copy / "notebooks" / "00_index.ipynb").read_bytes() == untouched


def test_unknown_lessons_are_refused(repo_copy):
    with pytest.raises(ValueError, match="unknown assignment"):
        release.generate(repo_copy, repo_copy / "out", ["06_pooling"])


def messy_notebook():
    """A notebook as JupyterLab saves it after a run: outputs, counts, editor metadata."""
    checked = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)\n2", execution_count=7)
    checked.outputs = [
        new_output("stream", name="stdout", text="1"),
        new_output("stream", name="stdout", text="\n"),
        new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure>"}),
        new_output("execute_result", data={"text/plain": "2"}, execution_count=7),
    ]
    plain = new_code_cell("x = 1\nx", execution_count=3)
    plain.outputs = [new_output("execute_result", data={"text/plain": "1"}, execution_count=3)]
    plain.metadata = {
        "collapsed": True,
        "scrolled": True,
        "jupyter": {"source_hidden": True},
        "tags": ["keep"],
        "nbgrader": {"grade": False},
    }
    nb = new_notebook(cells=[new_markdown_cell("# Title"), plain, checked])
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python", "version": "3.11.7"},
        "widgets": {},
    }
    return nb


def test_normalize_keeps_only_what_a_reviewer_should_see():
    nb = release.normalize(messy_notebook(), keep_checked_outputs=True)
    assert dict(nb.metadata) == {"kernelspec": release.KERNELSPEC}
    markdown, plain, checked = nb.cells
    assert plain.outputs == [] and plain.execution_count is None
    assert dict(plain.metadata) == {"tags": ["keep"], "nbgrader": {"grade": False}}
    # The checked cell keeps its text (streams joined), not its image; counts as in "Run All".
    assert checked.execution_count == 2
    assert [o.output_type for o in checked.outputs] == ["stream", "display_data", "execute_result"]
    assert checked.outputs[0].text == "1\n"
    assert dict(checked.outputs[1].data) == {"text/plain": "<Figure>"}
    assert checked.outputs[2].execution_count == 2
    assert all(c.id for c in nb.cells)
    # Without keep_checked_outputs (the student release) nothing is kept.
    bare = release.normalize(messy_notebook())
    assert all(c.outputs == [] for c in bare.cells if c.cell_type == "code")


def test_canonical_form_is_stable():
    once = release.canonical_json(release.normalize(messy_notebook(), keep_checked_outputs=True))
    again = release.canonical_json(
        release.normalize(nbformat.reads(once, as_version=4), keep_checked_outputs=True)
    )
    assert once == again and once.endswith("}\n")


def test_strip_sources_finds_and_fixes_a_notebook_saved_with_outputs(repo_copy):
    path = repo_copy / "solutions" / "01_dense_to_conv" / "01_dense_to_conv.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and not release.is_checked(c))
    cell.outputs = [new_output("stream", name="stdout", text="left over from a run\n")]
    cell.execution_count = 12
    nbformat.write(nb, path)
    rel = "solutions/01_dense_to_conv/01_dense_to_conv.ipynb"
    assert release.strip_sources(repo_copy, check=True) == [rel]
    assert release.strip_sources(repo_copy) == [rel]
    assert release.strip_sources(repo_copy, check=True) == []
    assert path.read_bytes() == source_path("01_dense_to_conv").read_bytes()
