"""The student edition built from the real course holds the course and nothing of the
instructor's; rebuilding, checking, zipping and the git history behave as documented."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest
from kit_facts import (
    NOTEBOOKS,
    PYTHON,
    REPO,
    clean_env,
    is_answer_cell,
    lessons,
    python_of,
    secret_lines,
    solution_names,
    top_level_names,
    tree,
)

from convcourse.instructor.authoring import kit, kit_audit
from convcourse.instructor.cli import main

# ------------------------------------------------------------------------ what the kit holds


def test_the_kit_holds_nothing_of_the_instructor(built_kit):
    folder, _ = built_kit
    files = tree(folder)
    for rel in files:
        top = rel.split("/")[0]
        assert top not in {"solutions", "tests", "submitted", "autograded", "feedback"}, rel
        assert not rel.startswith("convcourse/instructor"), rel
        assert "gradebook" not in rel and not rel.endswith(".db"), rel
    assert "nbgrader_config.py" not in files
    assert not (folder / "convcourse" / "instructor").exists()
    # what it does hold: the course a student needs
    for rel in ("course.py", "README.md", "pyproject.toml", "requirements/lock.txt", ".gitignore"):
        assert rel in files, rel
    assert any(rel.startswith("jupyter/") for rel in files)


def test_notebooks_are_the_release_byte_for_byte(built_kit):
    folder, _ = built_kit
    assert tree(folder / "notebooks") == tree(NOTEBOOKS)


def test_student_package_course_script_lock_and_jupyter_are_copied_unchanged(built_kit):
    folder, _ = built_kit
    package = {k: v for k, v in tree(REPO / "convcourse").items() if not k.startswith("instr")}
    assert tree(folder / "convcourse") == package
    assert tree(folder / "jupyter") == tree(REPO / "jupyter")
    for rel in ("course.py", "requirements/lock.txt"):
        assert (folder / rel).read_bytes() == (REPO / rel).read_bytes(), rel


def test_no_line_of_a_solution_hidden_test_or_mark_scheme_is_in_any_kit_file(built_kit):
    folder, _ = built_kit
    texts = {}
    for rel, data in tree(folder).items():
        try:
            texts[rel] = [data.decode("utf-8")]
        except UnicodeDecodeError:
            continue
        if rel.endswith(".ipynb"):
            nb = nbformat.reads(texts[rel][0], as_version=4)
            texts[rel] += [cell.source for cell in nb.cells]
    leaked = []
    for lesson, lang in [(lesson, lang) for lesson in lessons() for lang in ("en", "zh")]:
        secrets = secret_lines(lesson, lang)
        # The leak check must have something to look for (the trivial-line filter keeps it).
        assert len(secrets) >= 10, f"{lesson}: only {len(secrets)} distinctive secret lines"
        for rel, pieces in texts.items():
            leaked += [(rel, s) for s in secrets if any(s in piece for piece in pieces)]
    assert not leaked, leaked[:20]


def test_no_answer_is_defined_outside_the_answer_stubs(built_kit):
    folder, _ = built_kit
    answers = solution_names()
    assert {"corr2d", "Conv2D", "K_horizontal", "train_kernel"} <= answers
    found = []
    for path in sorted(folder.rglob("*.py")):
        names = top_level_names(path.read_text(encoding="utf-8"))
        found += [(path.relative_to(folder).as_posix(), n) for n in sorted(names & answers)]
    for path in sorted(folder.rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and not is_answer_cell(cell):
                names = top_level_names(cell.source)
                where = f"{path.relative_to(folder).as_posix()} cell {index}"
                found += [(where, n) for n in sorted(names & answers)]
    assert not found


def _imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(python_of(source))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def test_nothing_in_the_kit_imports_the_instructor_package(built_kit):
    folder, _ = built_kit
    sources = {p: [p.read_text(encoding="utf-8")] for p in folder.rglob("*.py")}
    for path in folder.rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        sources[path] = [c.source for c in nb.cells if c.cell_type == "code"]
    imported = {m for texts in sources.values() for text in texts for m in _imported_modules(text)}
    assert "convcourse.checks" in {m.rsplit(".", 1)[0] for m in imported}  # it does look
    assert not {m for m in imported if m.startswith("convcourse.instructor")}
    for path, texts in sources.items():
        assert not any('import_module("convcourse.instructor' in t for t in texts), path


def test_student_pyproject_has_no_instructor_script_and_no_dev_extras(built_kit):
    folder, _ = built_kit
    student = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    instructor = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "scripts" not in student["project"]
    assert "optional-dependencies" not in student["project"]
    for key in ("name", "version", "requires-python", "dependencies"):
        assert student["project"][key] == instructor["project"][key], key
    assert student["project"]["readme"] == "README.md"


def test_student_readme_gives_exactly_two_commands(built_kit):
    folder, _ = built_kit
    text = (folder / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```")[1::2]
    commands = [ln.strip() for block in blocks for ln in block.splitlines()[1:] if ln.strip()]
    assert commands == ["python3 course.py lab", "python3 course.py check"]
    for lesson in lessons():
        assert f"notebooks/{lesson}/" in text


def test_the_chinese_readme_gives_the_two_commands_of_the_chinese_edition(built_kit):
    folder, _ = built_kit
    assert "README.zh.md" in (folder / "README.md").read_text(encoding="utf-8")
    text = (folder / "README.zh.md").read_text(encoding="utf-8")
    blocks = text.split("```")[1::2]
    commands = [ln.strip() for block in blocks for ln in block.splitlines()[1:] if ln.strip()]
    assert commands == ["python3 course.py lab --lang zh", "python3 course.py check --lang zh"]
    for lesson in lessons():
        assert f"notebooks/zh/{lesson}/" in text
        assert (folder / "notebooks" / "zh" / lesson / f"{lesson}.ipynb").is_file()
    assert "第 1 课" in text  # the rows carry the Chinese lessons' titles


def test_the_kit_course_script_offers_no_test_command(built_kit, tmp_path):
    folder, _ = built_kit
    venv = tmp_path / "venv"
    env = clean_env(CONVCOURSE_VENV=str(venv))
    run = subprocess.run(
        [PYTHON, str(folder / "course.py"), "test"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 2 and "invalid choice: 'test'" in run.stderr
    assert "'check'" in run.stderr and "'lab'" in run.stderr
    assert not venv.exists(), "a refused command must not start setting up"


def test_marker_lists_every_file_of_the_kit(built_kit):
    folder, _ = built_kit
    marker = json.loads((folder / kit.KIT_MARKER).read_text(encoding="utf-8"))
    assert marker["files"] == sorted(tree(folder))


# -------------------------------------------------------------------------- zip and git


def test_zip_holds_the_same_files(built_kit):
    folder, archive = built_kit
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
        top = {n.split("/")[0] for n in names}
        assert top == {archive.stem}
        inside = {n.split("/", 1)[1]: z.read(n) for n in names}
    assert inside == tree(folder)


def test_the_kit_is_a_git_repository_with_one_commit_by_the_fixed_author(built_kit):
    folder, _ = built_kit

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True
        ).stdout

    log = git("log", "--format=%an|%ae|%cn|%ce")
    name, email = kit.KIT_AUTHOR
    assert log.splitlines() == [f"{name}|{email}|{name}|{email}"]
    assert git("status", "--porcelain") == ""
    assert git("branch", "--show-current").strip() == "main"  # what the README pushes
    assert sorted(git("ls-files").splitlines()) == sorted(tree(folder))
    history = git("log", "-p", "--format=%B")
    assert str(REPO) not in history and str(Path.home()) + "/" not in history


# --------------------------------------------------------------- --check, rebuilds, refusals


def test_check_says_up_to_date_then_lists_changed_added_and_removed_files(
    built_kit, tmp_path, capsys
):
    folder, _ = built_kit
    assert main(["kit", "--check", str(folder), "--course", str(REPO)]) == 0
    assert "up to date" in capsys.readouterr().out
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "README.md").write_text("edited by hand\n", encoding="utf-8")
    (copy / "notes.txt").write_text("not part of the kit\n", encoding="utf-8")
    (copy / "requirements" / "lock.txt").unlink()
    # what running the course leaves behind is not a difference
    (copy / ".venv").mkdir()
    (copy / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    assert main(["kit", "--check", str(copy), "--course", str(REPO)]) == 1
    err = capsys.readouterr().err
    assert "changed: README.md" in err
    assert "extra: notes.txt" in err
    assert "missing: requirements/lock.txt" in err
    assert ".venv" not in err


def test_a_folder_that_is_not_a_kit_is_refused_untouched(tmp_path, capsys):
    target = tmp_path / "my-stuff"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work\n", encoding="utf-8")
    (target / "sub").mkdir()
    (target / "sub" / "data.csv").write_text("1,2\n", encoding="utf-8")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in target.rglob("*") if p.is_file()}
    assert main(["kit", str(target), "--course", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert "refusing to write the kit" in err and kit.KIT_MARKER in err
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in target.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in target.iterdir()) == ["sub", "thesis.tex"]


def test_a_kit_inside_the_course_sources_is_refused(tmp_path):
    files = {"README.md": b"x\n"}
    with pytest.raises(kit.KitError, match="inside the course"):
        kit.write_kit(files, REPO / "notebooks" / "kit", REPO)
    assert not (REPO / "notebooks" / "kit").exists()


def _git_log(folder: Path) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--format=%s"], cwd=folder, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_rebuild_rewrites_the_kit_removes_only_its_own_old_files_and_commits_once(tmp_path):
    files = kit.collect(REPO)
    folder = tmp_path / "kit"
    folder.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=folder, check=True)  # an empty clone is fine
    first = kit.write_kit(files, folder, REPO)
    assert first.commit and sorted(first.written) == sorted(files)
    # the same build again: nothing to write, nothing to commit
    again = kit.write_kit(files, folder, REPO)
    assert again.written == [] and again.commit is None
    assert len(_git_log(folder)) == 1

    # An earlier build that had one more file (a lesson since removed), a student-facing file
    # edited by hand, and a file the instructor keeps beside the kit.
    old = dict(files)
    old["notebooks/06_extra/06_extra.ipynb"] = b"{}\n"
    old[kit.KIT_MARKER] = (
        json.dumps({"format": 1, "files": sorted([*files, "notebooks/06_extra/06_extra.ipynb"])})
        + "\n"
    ).encode()
    kit.write_kit(old, folder, REPO)
    (folder / "README.md").write_text("changed by hand\n", encoding="utf-8")
    (folder / "NOTES.md").write_text("mine\n", encoding="utf-8")

    result = kit.write_kit(files, folder, REPO)
    assert result.removed == ["notebooks/06_extra/06_extra.ipynb"]
    assert not (folder / "notebooks" / "06_extra").exists()
    assert sorted(result.written) == sorted(["README.md", kit.KIT_MARKER])
    assert result.left_alone == ["NOTES.md"]
    assert (folder / "NOTES.md").read_text() == "mine\n"
    assert kit.differences(files, folder).lines() == ["extra: NOTES.md"]
    subjects = _git_log(folder)
    assert subjects[0] == "Update the student edition" and len(subjects) == 3
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(tracked) == sorted(files)  # NOTES.md never committed
    body = subprocess.run(
        ["git", "log", "-1", "--format=%B"], cwd=folder, capture_output=True, text=True
    ).stdout
    assert "removed: notebooks/06_extra/06_extra.ipynb" in body
    # README.md was restored to the committed text: no change to commit for it
    assert "changed: .convcourse-kit\n" in body


def test_builds_are_deterministic(tmp_path):
    files = kit.collect(REPO)
    assert kit.collect(REPO) == files
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = kit.write_zip(files, tmp_path / "a" / "kit.zip")
    two = kit.write_zip(files, tmp_path / "b" / "kit.zip")
    assert one.read_bytes() == two.read_bytes()


def test_zip_replaces_only_an_earlier_kit_zip(tmp_path):
    files = kit.collect(REPO)
    other = tmp_path / "photos.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("holiday.jpg", b"jpeg")
    with pytest.raises(kit.KitError, match="not a kit zip"):
        kit.write_zip(files, other)
    with zipfile.ZipFile(other) as z:
        assert z.namelist() == ["holiday.jpg"]
    path = kit.write_zip(files, tmp_path / "kit.zip")
    assert kit.write_zip(files, path) == path


# --------------------------------------------------------------------------------- the audit


def test_the_audit_finds_planted_answers_secrets_and_instructor_imports():
    files = dict(kit.collect(REPO))
    secret = sorted(secret_lines(lessons()[1]))[0]
    files["convcourse/helpers.py"] = b"def corr2d(X, K):\n    return X\n"
    files["convcourse/more.py"] = b"from convcourse.instructor.reference import corr\n"
    files["README.md"] += ("\n" + secret + "\n").encode()
    lesson = next(p for p in sorted(files) if p.startswith("notebooks/02_"))
    nb = nbformat.reads(files[lesson].decode(), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("def kernel_matrix(K, X_shape):\n    pass"))
    files[lesson] = nbformat.writes(nb).encode()
    problems = "\n".join(kit_audit.audit(files, REPO))
    assert "convcourse/helpers.py line 1: defines corr2d" in problems
    assert "convcourse/more.py line 1: imports convcourse.instructor" in problems
    assert f"README.md: holds a line of a solution or mark scheme: {secret!r}" in problems
    assert f"{lesson} cell {len(nb.cells) - 1} line 1: defines kernel_matrix" in problems


def test_the_audit_finds_a_translated_model_answer():
    # A line of a Chinese model answer (translations/zh/instructor/) in a kit file is refused.
    files = dict(kit.collect(REPO))
    secret = next(s for s in sorted(secret_lines(lessons()[0], "zh")) if len(s) > 20)
    assert secret not in "".join(sorted(secret_lines(lessons()[0])))  # not an English line
    files["README.zh.md"] += ("\n" + secret + "\n").encode()
    problems = "\n".join(kit_audit.audit(files, REPO))
    assert f"README.zh.md: holds a line of a solution or mark scheme: {secret!r}" in problems


def test_a_course_whose_kit_would_leak_is_not_written(tmp_path):
    course = tmp_path / "course"
    for name in ("solutions", "notebooks", "convcourse", "jupyter", "requirements"):
        shutil.copytree(REPO / name, course / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("course.py", "pyproject.toml", "nbgrader_config.py"):
        shutil.copy(REPO / name, course / name)
    (course / "convcourse" / "answers.py").write_text("def train_kernel():\n    pass\n")
    target = tmp_path / "kit"
    assert main(["kit", str(target), "--course", str(course)]) == 2
    assert not target.exists()


@pytest.mark.parametrize(
    "line",
    [
        "h, w = K.shape",
        "(n_h, n_w), (k_h, k_w) = X_shape, K_shape",
        "for i in range(Y.shape[0]):",
        "optimizer.zero_grad()",
        "with torch.no_grad():",
        "if K.grad is not None:",
        "Y = torch.zeros(",
        "o_h, o_w = n_h - k_h + 1, n_w - k_w + 1",
        "dtype = torch.promote_types(X.dtype, K.dtype)",
        "return Y",
        "# a comment that is long enough",
    ],
)
def test_trivial_lines_are_not_secrets(line):
    assert kit_audit.is_trivial_line(line)


@pytest.mark.parametrize(
    "line",
    [
        "Y[i, j] = (X[i : i + h, j : j + w] * K).sum()",
        "K -= lr * K.grad",
        "return torch.tensor([[1.0, -2.0, 1.0]])",
        "return (n_h - k_h + 1, n_w - k_w + 1)",
        "K_horizontal = torch.tensor([[1.0], [-1.0]])",
        "self.weight = nn.Parameter(torch.rand(kernel_size))",
        "return torch_corr2d(X, self.weight) + self.bias",
        "delta = (side - 1) // 2",
        "**Model answer.** The loss is a quadratic bowl in the weights.",
        "check_corr2d(corr2d, seed=student_seed(), hidden=True)",
    ],
)
def test_lines_that_compute_or_explain_are_secrets(line):
    assert not kit_audit.is_trivial_line(line)
