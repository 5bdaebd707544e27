"""A student's use of the kit, end to end, in a copy of it with a virtual environment of its own.

``python3 course.py setup`` sets up the kit's environment; then ``course.py check`` on the untouched
kit (every exercise not yet written), ``course.py check`` on the kit with every answer cell
filled with the instructor's solution (every exercise passed), ``course.py lab`` serving the
index over HTTP, and the filled notebooks graded by the instructor's ``convcourse autograde``
(sandboxed) to full automatic marks.

The kit's ``course.py`` is this repository's own (a test of test_kit_build says so), whose full
install from the lock CI already runs; so by default the kit's environment is a new virtual
environment that borrows this one's installed packages (one ``.pth`` line: torch is not
installed a second time) and the kit's commands run with ``--in-place`` in it -- the kit's own
package, kernel and settings are installed there as a student's would be.  With
``CONVCOURSE_KIT_FULL_INSTALL=1`` the kit's environment is installed from the lock instead
(minutes, about 6 GB).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest
from kit_facts import PYTHON, REPO, clean_env, is_answer_cell, lessons, nbgrader, source_path

from convcourse import selfcheck

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

LAB_START_TIMEOUT = 120


def _graded_tests(nb) -> dict[str, float]:
    """grade id -> points of the notebook's graded test cells."""
    return {
        nbgrader(c)["grade_id"]: float(nbgrader(c).get("points", 0))
        for c in nb.cells
        if c.cell_type == "code" and nbgrader(c).get("grade") and not nbgrader(c).get("solution")
    }


def _solution_code(source: str) -> str:
    """An instructor answer cell as a student would have written it: the markers removed."""
    keep = [ln for ln in source.splitlines() if "### BEGIN SOLUTION" not in ln]
    return "\n".join(ln for ln in keep if "### END SOLUTION" not in ln)


def fill_answers(kit: Path) -> dict[str, Path]:
    """Replace every answer stub of the kit's lessons by the instructor's code; lesson -> path."""
    filled = {}
    for lesson in lessons():
        answers = {
            nbgrader(c)["grade_id"]: _solution_code(c.source)
            for c in nbformat.read(source_path(lesson), as_version=4).cells
            if is_answer_cell(c)
        }
        path = kit / "notebooks" / lesson / f"{lesson}.ipynb"
        nb = nbformat.read(path, as_version=4)
        stubs = [c for c in nb.cells if is_answer_cell(c)]
        assert {nbgrader(c)["grade_id"] for c in stubs} == set(answers), lesson
        for cell in stubs:
            cell.source = answers[nbgrader(cell)["grade_id"]]
        nbformat.write(nb, path)
        filled[lesson] = path
    return filled


FULL_INSTALL = os.environ.get("CONVCOURSE_KIT_FULL_INSTALL") == "1"


def borrowing_venv(path: Path) -> Path:
    """A new virtual environment that sees this environment's packages but not its convcourse
    (a ``.pth`` line adds the folder; the ``.pth`` files in it, such as the editable install of
    the instructor's convcourse, are not run).  Its Python."""
    import sysconfig
    import venv

    # No pip or setuptools of its own: the borrowed (current) ones build the kit's package.
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "borrowed-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def course(kit: Path, env: dict, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    if FULL_INSTALL:
        command = [PYTHON, "course.py", *args]
    else:
        command = [env["CONVCOURSE_KIT_PYTHON"], "course.py", *args, "--in-place"]
    return subprocess.run(
        command,
        cwd=kit,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def student(built_kit, tmp_path_factory):
    """A copy of the kit set up with its own environment, checked untouched, then filled and
    checked again (one environment, one run of each command)."""
    folder, _ = built_kit
    root = tmp_path_factory.mktemp("student")
    kit = root / "convcourse"
    shutil.copytree(folder, kit, ignore=shutil.ignore_patterns(".git"))
    env = clean_env(
        CONVCOURSE_VENV=str(root / "venv"),
        # nothing of this machine's Jupyter or IPython setup: only what course.py installs
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        IPYTHONDIR=str(root / "ipython"),
    )
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    if not FULL_INSTALL:
        env["CONVCOURSE_KIT_PYTHON"] = str(borrowing_venv(root / "venv"))

    setup = course(kit, env, "setup")
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    untouched = course(kit, env, "check", "--json", str(root / "untouched.json"))
    expected = {
        lesson: _graded_tests(nbformat.read(REPO / "notebooks" / lesson / f"{lesson}.ipynb", 4))
        for lesson in lessons()
    }
    filled = fill_answers(kit)
    done = course(kit, env, "check", "--json", str(root / "filled.json"))
    return {
        "kit": kit,
        "env": env,
        "venv": root / "venv",
        "expected": expected,
        "untouched": untouched,
        "done": done,
        "filled": filled,
        "results": {
            name: {r["lesson"]: r for r in json.loads((root / f"{name}.json").read_text())}
            for name in ("untouched", "filled")
            if (root / f"{name}.json").exists()
        },
    }


def _statuses(student, name: str) -> dict[str, dict[str, str]]:
    return {
        lesson: {t["grade_id"]: t["status"] for t in result["tests"]}
        for lesson, result in student["results"][name].items()
    }


def test_setup_installs_the_kit_and_its_kernel_into_the_given_environment(student):
    venv = student["venv"]
    assert (venv / ".convcourse-installed").is_file()
    kernel = venv / "share" / "jupyter" / "kernels" / "convcourse" / "kernel.json"
    assert str(venv) in json.loads(kernel.read_text())["argv"][0]
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import convcourse; print(convcourse.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
        env=student["env"],
    )
    assert where.stdout.strip() == str(student["kit"] / "convcourse" / "__init__.py")
    assert not (student["kit"] / "convcourse" / "instructor").exists()


def test_check_on_the_untouched_kit_says_every_exercise_is_not_yet_written(student):
    run = student["untouched"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    statuses = _statuses(student, "untouched")
    expected = {
        lesson: {gid.removeprefix("test-"): selfcheck.NOT_WRITTEN for gid in tests}
        for lesson, tests in student["expected"].items()
    }
    assert statuses == expected
    assert "total" in run.stdout and "not yet written" in run.stdout


def test_check_on_the_kit_filled_with_the_solutions_says_every_exercise_passed(student):
    run = student["done"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    statuses = _statuses(student, "filled")
    failing = [
        (lesson, t["grade_id"], t["status"], t["reason"])
        for lesson, result in student["results"]["filled"].items()
        for t in result["tests"]
        if t["status"] != selfcheck.PASSED
    ]
    assert not failing
    expected = {
        lesson: {gid.removeprefix("test-"): selfcheck.PASSED for gid in tests}
        for lesson, tests in student["expected"].items()
    }
    assert statuses == expected
    assert "Every visible test passes" in run.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET; OSError while nothing listens yet."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def test_lab_serves_the_index(student, tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in student["env"].items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env.update(
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    if not FULL_INSTALL:  # JupyterLab's built application is borrowed with its package
        env["JUPYTERLAB_DIR"] = str(Path(sys.prefix) / "share" / "jupyter" / "lab")
    log = tmp_path / "lab.log"
    args = ["--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                PYTHON if FULL_INSTALL else env["CONVCOURSE_KIT_PYTHON"],
                "course.py",
                "lab",
                *args,
                f"--IdentityProvider.token={token}",
                *([] if FULL_INSTALL else ["--in-place"]),
            ],
            cwd=student["kit"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, status, body = time.monotonic() + LAB_START_TIMEOUT, None, b""
        while status != 200 and time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"{base}/api/contents/notebooks/00_index.ipynb?token={token}")
            except OSError:
                time.sleep(0.5)
        assert status == 200, log.read_text(errors="replace")[-3000:]
        index = json.loads(body)
        assert index["type"] == "notebook" and index["content"]["cells"]
        on_disk = nbformat.read(student["kit"] / "notebooks" / "00_index.ipynb", as_version=4)
        assert [c["source"] for c in index["content"]["cells"]] == [c.source for c in on_disk.cells]
        page_status, page = _get(f"{base}/lab/tree/notebooks/00_index.ipynb?token={token}")
        assert page_status == 200 and b"JupyterLab" in page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def sandbox_available():
    from convcourse.instructor.sandbox import isolation_problem

    problem = isolation_problem()
    if problem:
        if os.environ.get("CONVCOURSE_REQUIRE_SANDBOX") == "1":
            pytest.fail(f"sandboxed grading is required here but unavailable: {problem}")
        pytest.skip(f"sandboxed grading unavailable: {problem}")


def test_the_filled_kit_notebooks_get_full_automatic_marks_from_the_grader(
    student, sandbox_available, tmp_path
):
    from convcourse.instructor.cli import main

    grading = tmp_path / "course"
    shutil.copytree(
        REPO / "solutions", grading / "solutions", ignore=shutil.ignore_patterns(".ipynb_*")
    )
    shutil.copy(REPO / "nbgrader_config.py", grading / "nbgrader_config.py")
    for lesson, path in student["filled"].items():
        folder = grading / "submitted" / "kitstudent" / lesson
        folder.mkdir(parents=True)
        shutil.copy(path, folder / path.name)
    marks = {}
    for lesson in student["filled"]:
        code = main(["autograde", lesson, "--course", str(grading), "--no-progress"])
        result = json.loads(
            (grading / ".grading" / "results" / lesson / "kitstudent.json").read_text()
        )
        marks[lesson] = (code, result["status"], result["score"], result["max_score"])
    expected = {
        lesson: (0, "graded", sum(tests.values()), sum(tests.values()))
        for lesson, tests in student["expected"].items()
    }
    assert marks == expected
