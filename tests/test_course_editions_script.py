"""``course.py`` and the Chinese edition: its kernel, ``lab --lang zh`` and ``check --lang zh``."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convcourse.editions import EDITIONS

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _course_script():
    spec = importlib.util.spec_from_file_location("course_script", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_py_registers_the_kernel_of_every_edition():
    course = _course_script()  # stdlib only: it keeps its own copy of the names
    registered = {name: (display, env) for name, display, env in course.KERNELS}
    for lang, info in EDITIONS.items():
        display, env = registered[info["kernel"]]
        assert display == info["display_name"]
        assert env == ({} if lang == "en" else {"CONVCOURSE_LANG": lang})
    assert set(course.INDEXES) == set(EDITIONS)


def test_the_installed_chinese_kernel_speaks_chinese():
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    assert EDITIONS["zh"]["kernel"] in specs, "run `python3 course.py setup`"
    spec = specs[EDITIONS["zh"]["kernel"]]["spec"]
    assert spec["env"] == {"CONVCOURSE_LANG": "zh"}
    assert spec["display_name"] == EDITIONS["zh"]["display_name"]


@pytest.mark.parametrize("lang", sorted(EDITIONS))
def test_lab_opens_the_index_of_the_edition(lang):
    course = _course_script()
    cmd, _ = course.lab_command(Path(sys.executable), [], ROOT, lang=lang)
    index = next(arg for arg in cmd if arg.endswith(".ipynb"))
    assert index == (
        "notebooks/00_index.ipynb" if lang == "en" else f"notebooks/{lang}/00_index.ipynb"
    )
    assert (ROOT / index).is_file()


WRONG_COUNTS = """def dense_param_count(n_h, n_w, m_h, m_w):
    return n_h * n_w  # forgot the hidden units


def local_param_count(delta):
    return (2 * delta + 1) ** 2
"""


def test_check_lang_zh_runs_the_chinese_lesson_in_its_kernel(tmp_path):
    """A wrong answer in the Chinese lesson: `check --lang zh` gives the check's reason in
    Chinese (its kernel sets CONVCOURSE_LANG=zh); the same answer in English, in English."""
    import nbformat

    def wrong_copy(folder: Path, source: Path) -> None:
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "param-counts":
                cell.source = WRONG_COUNTS
        (folder / "01_dense_to_conv").mkdir(parents=True)
        nbformat.write(nb, folder / "01_dense_to_conv" / "01_dense_to_conv.ipynb")

    reasons = {}
    for lang, source in (
        ("zh", ROOT / "notebooks" / "zh" / "01_dense_to_conv" / "01_dense_to_conv.ipynb"),
        ("en", ROOT / "notebooks" / "01_dense_to_conv" / "01_dense_to_conv.ipynb"),
    ):
        folder = tmp_path / lang
        wrong_copy(folder, source)
        proc = subprocess.run(
            [sys.executable, "-m", "convcourse.selfcheck", "--notebooks", str(folder)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        lines = [ln for ln in proc.stdout.splitlines() if "param-counts" in ln and "failing" in ln]
        assert lines, proc.stdout
        reasons[lang] = lines[0]
    assert CJK.search(reasons["zh"]), reasons
    assert not CJK.search(reasons["en"]), reasons
