"""The Chinese edition: complete, in step with the English source, the same code and cells.

The parity check of the issue: a translation block whose English text changed since it was
reviewed (stored hash), a missing or unfinished block, and any difference in code or nbgrader
cells between the editions fail here; ``convcourse release --check`` (test_course_release.py)
fails when the committed editions are not what the sources build.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from course_facts import INDEX, LESSONS, NOTEBOOKS, ROOT, SOLUTIONS, tool_env

from convcourse.editions import EDITIONS
from convcourse.instructor.authoring import translation as tr
from convcourse.instructor.authoring.release import instructor_dir, source_notebooks

CJK = re.compile(r"[\u4e00-\u9fff]")
ZH_NOTEBOOKS = NOTEBOOKS / "zh"
ZH_INSTRUCTOR = ROOT / instructor_dir("zh")
NAMES = [INDEX] + [f"{lesson}/{lesson}.ipynb" for lesson in LESSONS]


def _read(path):
    return nbformat.read(path, as_version=4)


# -- the committed edition


@pytest.mark.parametrize("source", source_notebooks(ROOT), ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_reviewed_translation(source):
    path = tr.translation_path(ROOT, "zh", source.name)
    found = tr.problems(_read(source), tr.parse(path.read_text(encoding="utf-8")))
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", NAMES)
def test_the_chinese_notebooks_share_every_cell_but_the_prose(name):
    en_student, zh_student = _read(NOTEBOOKS / name), _read(ZH_NOTEBOOKS / name)
    en_source, zh_source = _read(SOLUTIONS / name), _read(ZH_INSTRUCTOR / name)
    assert tr.code_parity(en_student, zh_student) == []
    assert tr.code_parity(en_source, zh_source) == []
    for nb in (zh_student, zh_source):
        assert nb.metadata.kernelspec.name == EDITIONS["zh"]["kernel"]
    # The prose is Chinese: every markdown cell of the instructor edition holds Chinese text
    # (the student edition's answer cells hold nbgrader's stub instead).
    for cell in zh_source.cells:
        if cell.cell_type == "markdown":
            assert CJK.search(cell.source), f"{name} {cell.id}: no Chinese text"


def test_the_index_has_a_glossary_and_links_to_d2l_zh():
    index = _read(ZH_NOTEBOOKS / INDEX).cells[0].source
    assert "术语表" in index
    for term in ("平移不变性", "局部性", "互相关运算", "卷积核", "感受野", "超参数"):
        assert term in index, term
    assert "zh.d2l.ai/chapter_convolutional-neural-networks/why-conv.html" in index
    assert "zh.d2l.ai/chapter_convolutional-neural-networks/conv-layer.html" in index


# -- the mechanism, on small notebooks


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _md(cell_id, text):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = cell_id
    return cell


def _code(cell_id, text):
    cell = nbformat.v4.new_code_cell(text)
    cell.id = cell_id
    return cell


def _block(cell_id, english, text, todo=False):
    return tr.Block(cell_id, tr.english_hash(english), text, todo)


def test_a_translation_replaces_the_prose_and_keeps_the_code():
    nb = _nb(_md("a", "# Title"), _code("b", "x = 1  # a comment"), _md("c", "Some *text*."))
    done = tr.Translation(
        [_block("a", "# Title", "# 标题"), _block("c", "Some *text*.", "一些文字。")]
    )
    out = tr.translate(nb, done, "zh")
    assert [c.source for c in out.cells] == ["# 标题", "x = 1  # a comment", "一些文字。"]
    assert tr.code_parity(nb, out) == []
    # The file form reads back to the same blocks.
    again = tr.parse(tr.render(done, "zh", "x.ipynb"))
    assert [(b.cell_id, b.en_hash, b.text) for b in again.blocks] == [
        (b.cell_id, b.en_hash, b.text) for b in done.blocks
    ]


def test_each_kind_of_problem_is_named_with_its_cell():
    nb = _nb(_md("a", "New English"), _code("b", "x = 1"), _md("c", "C"), _md("d", "D"))
    stale = tr.Translation(
        [
            _block("a", "Old English", "旧译文"),  # the English changed since
            _block("b", "x = 1", "代码"),  # a code cell
            _block("c", "C", "C", todo=True),
            _block("e", "E", "多余"),  # no such cell
        ]
    )
    found = "\n".join(tr.problems(nb, stale))
    assert "cell a" in found and "English text changed" in found
    assert "cell b" in found and "code cell" in found
    assert "cell c" in found and "not translated yet" in found
    assert "cell d: no translation" in found
    assert "cell e" in found and "no such cell" in found
    with pytest.raises(tr.TranslationError) as info:
        tr.translate(nb, stale, "zh", "x.md")
    assert len(info.value.issues) == 5
    empty = tr.Translation([_block("a", "New English", "  "), _block("c", "C", "丙")])
    assert any(
        "empty" in p for p in tr.problems(_nb(_md("a", "New English"), _md("c", "C")), empty)
    )


def test_a_header_that_does_not_parse_and_a_repeated_block_are_errors():
    parsed = tr.parse(
        "<!-- cell a en:123 -->\nx\n<!-- cell b en:0123456789ab -->\ny\n"
        "<!-- cell b en:0123456789ab -->\nz\n"
    )
    assert any("not understood" in e and "line 1" in e for e in parsed.errors)
    assert any("second block for cell 'b'" in e for e in parsed.errors)


def test_sync_adds_new_cells_drops_old_ones_and_marks_reviewed(tmp_path):
    root = tmp_path
    (root / "solutions").mkdir()
    source = root / "solutions" / "00_index.ipynb"
    nbformat.write(_nb(_md("a", "A"), _md("b", "B")), source)
    tr.sync(root, "zh", [source])
    path = tr.translation_path(root, "zh", source.name)
    blocks = tr.parse(path.read_text(encoding="utf-8")).blocks
    assert [(b.cell_id, b.todo, b.text) for b in blocks] == [("a", True, "A"), ("b", True, "B")]
    path.write_text(
        tr.render(tr.Translation([_block("a", "A", "甲"), _block("b", "B", "乙")]), "zh", "s"),
        encoding="utf-8",
    )
    nbformat.write(_nb(_md("a", "A changed"), _md("c", "C")), source)
    tr.sync(root, "zh", [source])
    blocks = tr.parse(path.read_text(encoding="utf-8")).by_id()
    assert set(blocks) == {"a", "c"} and blocks["a"].text == "甲" and blocks["c"].todo
    assert any(
        "English text changed" in p for p in tr.problems(_read(source), tr.parse(path.read_text()))
    )
    tr.sync(root, "zh", [source], reviewed={"a"})
    assert tr.parse(path.read_text()).by_id()["a"].en_hash == tr.english_hash("A changed")


@pytest.mark.slow
def test_release_refuses_an_edition_whose_english_changed(tmp_path):
    """Change one English sentence in a copy of the course: release --check names the cell."""
    course = tmp_path / "course"
    for folder in ("solutions", "notebooks", "translations"):
        shutil.copytree(ROOT / folder, course / folder)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    lesson = LESSONS[0]
    path = course / "solutions" / lesson / f"{lesson}.ipynb"
    nb = _read(path)
    cell = next(c for c in nb.cells if c.cell_type == "markdown")
    cell.source += "\n\nOne more English sentence."
    nbformat.write(nb, path)
    cmd = [sys.executable, "-m", "convcourse.instructor.cli", "release", "--course", str(course)]
    proc = subprocess.run(
        [*cmd, "--check"], capture_output=True, text=True, env=tool_env(), timeout=300
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"cell {cell.id}" in proc.stderr and "English text changed" in proc.stderr
    # The English edition alone can still be released (and is then out of date, not broken).
    proc = subprocess.run(
        [*cmd, "--lang", "en"], capture_output=True, text=True, env=tool_env(), timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"notebooks/{lesson}/{lesson}.ipynb" in proc.stdout
