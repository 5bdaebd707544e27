#!/usr/bin/env python3
"""Set up the convcourse environment and run the course, check the lessons or run the tests.

Only the standard library is used here, so this works on a fresh machine with Python >= 3.11:

    python3 course.py lab     # set up .venv (first time only) and open the course in JupyterLab
    python3 course.py check   # set up .venv (first time only) and run every lesson like the
                              # grader: per lesson, the tests passed, failing, not yet written
    python3 course.py test    # (instructor repository only: it has tests/) set up .venv, lint
                              # and run the whole test suite (--quick: a short subset)
    python3 course.py setup   # only set up (or refresh) the environment

The same file serves the instructor repository and the student edition (``convcourse kit``
copies it); ``test`` is offered only where ``tests/`` exists.

The environment is a virtual environment in ``.venv`` installed from ``requirements/lock.txt``
with ``--no-deps``: the lock lists every package and its exact version, so installs are
reproducible, and d2l's exact pins on old numpy/matplotlib are not applied (README: "Why a lock
file").  Set ``CONVCOURSE_VENV`` to put the environment elsewhere, or pass ``--in-place`` to
install into the Python that runs this script (for example an activated conda environment made
from ``environment.yml``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements" / "lock.txt"
KERNEL_NAME = "convcourse"
KERNEL_DISPLAY = "Python 3 (convcourse)"
# The editions' kernels (name, display name, environment): the Chinese edition's notebooks name
# the second, which shows the checks' messages in Chinese (convcourse/editions.py).
KERNELS = [
    (KERNEL_NAME, KERNEL_DISPLAY, {}),
    ("convcourse-zh", "Python 3 (convcourse, 中文)", {"CONVCOURSE_LANG": "zh"}),
]
# Each edition's index: `lab --lang zh` opens the Chinese one.
INDEXES = {"en": "notebooks/00_index.ipynb", "zh": "notebooks/zh/00_index.ipynb"}
MIN_PYTHON = (3, 11)

# JupyterLab settings for the course: no news pop-up, no update check (students need neither,
# and a closed network makes the check hang).
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def say(msg: str) -> None:
    print(f"[course] {msg}", flush=True)


def run(cmd: list[str], **kw) -> None:
    say("$ " + " ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def venv_python(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def fingerprint() -> str:
    h = hashlib.sha256()
    for path in (LOCK, ROOT / "pyproject.toml", Path(__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()


def locked_requirement(name: str) -> str:
    """The ``name==version`` line of the lock file."""
    for line in LOCK.read_text().splitlines():
        if line.split("==")[0].strip().lower() == name:
            return line.split(";")[0].strip()
    raise SystemExit(f"{name} is missing from {LOCK}")


def setup(in_place: bool = False) -> Path:
    """Create or refresh the environment; return its Python."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"convcourse needs Python >= 3.11; this is {sys.version.split()[0]}")
    if in_place:
        python = Path(sys.executable)
        prefix = Path(sys.prefix)
    else:
        prefix = Path(os.environ.get("CONVCOURSE_VENV", ROOT / ".venv")).resolve()
        python = venv_python(prefix)
        if not python.exists():
            say(f"creating a virtual environment in {prefix}")
            venv.EnvBuilder(with_pip=True, clear=True).create(prefix)
    stamp = prefix / ".convcourse-installed"
    want = fingerprint()
    if stamp.exists() and stamp.read_text().strip() == want:
        return python
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    if in_place:
        # The environment (e.g. conda's, from environment.yml) provides everything but d2l, whose
        # exact pins would drag numpy and matplotlib back: install it alone, without them.
        say("installing d2l (without its pins) and convcourse into this environment")
        run([*pip, "install", "--no-deps", locked_requirement("d2l")])
    else:
        say("installing the locked packages (first time: a few minutes; torch is large)")
        run([*pip, "install", "--no-deps", "--requirement", LOCK])
    run([*pip, "install", "--no-deps", "--no-build-isolation", "--editable", ROOT])
    # The kernels are registered inside the environment under clear names, so every notebook
    # (whose metadata names its edition's kernel) opens without asking which kernel to use.
    for name, display, kernel_env in KERNELS:
        env_args = [arg for item in kernel_env.items() for arg in ("--env", *item)]
        run(
            [
                python,
                "-m",
                "ipykernel",
                "install",
                "--sys-prefix",
                "--name",
                name,
                "--display-name",
                display,
                *env_args,
            ]
        )
    settings = prefix / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")
    stamp.write_text(want + "\n")
    say("environment ready")
    return python


def lab_command(python: Path, extra: list[str], root: Path = ROOT, lang: str = "en"):
    """The command and environment that open the course at ``root`` in JupyterLab.

    Run them from ``root``.  The browser test (tests/browser) starts JupyterLab with them too.
    ``lang`` chooses the edition whose index opens first.
    """
    cmd = [str(python), "-m", "jupyterlab", f"--ServerApp.root_dir={root}", *extra]
    if not any(arg.endswith(".ipynb") for arg in extra):
        cmd.append(INDEXES[lang])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; JupyterLab refuses otherwise
    env = dict(os.environ)
    # nbgrader runs its own tools (alembic) by name: put the environment's scripts on PATH.
    env["PATH"] = os.pathsep.join(filter(None, [str(python.parent), env.get("PATH")]))
    # The course's Jupyter settings for students (jupyter/README.md) come before the user's own.
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [str(root / "jupyter"), env.get("JUPYTER_CONFIG_PATH")])
    )
    return cmd, env


def lab(python: Path, extra: list[str], lang: str = "en") -> int:
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        say("no display found: open the URL printed below in your browser")
        extra = [*extra, "--no-browser"]
    if not (ROOT / INDEXES[lang]).is_file():
        say(f"this copy has no {INDEXES[lang]}: the {lang} edition is not released here")
        return 1
    cmd, env = lab_command(python, extra, lang=lang)
    os.chdir(ROOT)
    return subprocess.call(cmd, env=env)


def check(python: Path, extra: list[str], lang: str = "en") -> int:
    """Run every lesson of ``notebooks/`` (or ``notebooks/<lang>/``) as the grader will
    (``convcourse/selfcheck.py``)."""
    os.chdir(ROOT)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(filter(None, [str(python.parent), env.get("PATH")]))
    edition = ["--lang", lang] if lang != "en" else []
    return subprocess.call([str(python), "-m", "convcourse.selfcheck", *edition, *extra], env=env)


def commands() -> list[str]:
    """The commands this copy offers: ``test`` only where the test suite is (the instructor's
    repository; the student edition has no tests)."""
    return ["setup", "lab", "check", *(["test"] if (ROOT / "tests").is_dir() else [])]


# ``test --quick``: a contributor's inner loop -- the reference implementations against their
# oracles, every check and its misconception diagnoses, the instructor unit tests and one
# notebook round trip through nbgrader (lesson 01).  The full suite is what CI runs.
QUICK_TESTS = [
    "tests/test_reference_corr.py",
    "tests/test_reference_gallery.py",
    "tests/test_reference_layers.py",
    "tests/test_reference_oracle.py",
    "tests/checks",
    "tests/instructor",
    "tests/course/test_course_roundtrip.py::test_instructor_version_gets_every_automatic_point"
    "[01_dense_to_conv]",
    "tests/course/test_course_roundtrip.py::test_untouched_release_gets_zero_without_crashing"
    "[01_dense_to_conv]",
]


def test(python: Path, extra: list[str], quick: bool = False) -> int:
    os.chdir(ROOT)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # The environment's scripts (nbgrader, jupyter, alembic, which nbgrader runs by name) first.
    env["PATH"] = os.pathsep.join(filter(None, [str(python.parent), env.get("PATH")]))
    steps = [
        [str(python), "-m", "ruff", "check", "."],
        [str(python), "-m", "ruff", "format", "--check", "."],
        [str(python), "-m", "pytest", *(QUICK_TESTS if quick else []), *extra],
    ]
    for cmd in steps:
        say("$ " + " ".join(cmd[2:] if cmd[1] == "-m" else cmd))
        rc = subprocess.call(cmd, env=env)
        if rc != 0:
            return rc
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=commands())
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="install into this Python instead of .venv (e.g. a conda env)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="test: only the reference code, the checks, the instructor unit tests and one "
        "notebook round trip (a contributor's inner loop; CI runs everything)",
    )
    parser.add_argument(
        "--lang",
        choices=sorted(INDEXES),
        default="en",
        help="lab, check: the edition (zh: the Chinese one, notebooks/zh/)",
    )
    args, extra = parser.parse_known_args(argv)
    python = setup(in_place=args.in_place)
    if args.command == "lab":
        return lab(python, extra, args.lang)
    if args.command == "check":
        return check(python, extra, args.lang)
    if args.command == "test":
        return test(python, extra, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
