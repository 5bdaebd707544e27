"""The environment files agree with each other, and nothing depends on one machine's paths."""

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names of PyPI packages whose names differ.
CONDA_NAMES = {"matplotlib": "matplotlib-base", "psycopg2-binary": "psycopg2"}
# Installed by course.py with --no-deps rather than listed in environment.yml (its pins).
NOT_IN_CONDA_FILE = {"d2l"}


def pyproject_requirements() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return [Requirement(d) for d in deps]


def environment_yml() -> dict[str, str]:
    """name -> specifier text of every package in environment.yml (conda and pip sections)."""
    entries = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*([<>=!~].*)?$", line.split("#")[0].rstrip())
        if m and m.group(1) not in {"conda-forge", "pip", "python"}:
            entries[canonicalize_name(m.group(1))] = (m.group(2) or "").strip()
    return entries


def lock() -> dict[str, list[Version]]:
    pins: dict[str, list[Version]] = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split(";")[0].split("==")
            pins.setdefault(canonicalize_name(name), []).append(Version(version.strip()))
    return pins


def test_environment_yml_lists_the_same_packages_as_pyproject():
    env = environment_yml()
    expected = set()
    for req in pyproject_requirements():
        name = canonicalize_name(req.name)
        if name in NOT_IN_CONDA_FILE:
            continue
        conda_name = canonicalize_name(CONDA_NAMES.get(name, name))
        expected.add(conda_name)
        if "distributed" in req.extras:
            expected.add("distributed")
        assert conda_name in env, f"{req.name} is in pyproject.toml but not in environment.yml"
        if any(s.operator == "==" for s in req.specifier):
            assert env[conda_name] == str(req.specifier), (
                f"{req.name}: pyproject pins {req.specifier}, environment.yml says "
                f"{env[conda_name] or 'nothing'}"
            )
    assert set(env) == expected, f"only in environment.yml: {sorted(set(env) - expected)}"


def test_lock_satisfies_every_requirement_and_overrides_d2l_pins():
    pins = lock()
    for req in pyproject_requirements():
        versions = pins.get(canonicalize_name(req.name))
        assert versions, f"{req.name} is missing from requirements/lock.txt: regenerate the lock"
        for version in versions:
            assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version}"
    # d2l 1.0.3 asks for numpy==1.23.5 and matplotlib==3.7.2; the lock must not follow.
    assert all(v.major >= 2 for v in pins["numpy"])
    assert all(v >= Version("3.9") for v in pins["matplotlib"])


def test_the_environment_is_the_locked_one():
    from importlib.metadata import version

    pins = lock()
    for name in ("torch", "torchvision", "d2l", "nbgrader", "jupyterlab", "numpy", "matplotlib"):
        installed = Version(version(name))
        assert any(installed.release == v.release for v in pins[name]), (
            f"{name} {installed} is installed but the lock says {pins[name]}: run course.py setup"
        )


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p]


MACHINE_PATHS = re.compile(
    r"(/work/main|/work/shared|\.\./shared|/root/\.pyenv|/opt/wheels|/opt/pypi|/tmp/uvenv)"
)


def test_no_file_depends_on_this_machine():
    offenders = []
    for path in tracked_files():
        if path.suffix in {".png", ".jpg", ".db", ".zip"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.name == "test_environment.py":
            text = text.replace(MACHINE_PATHS.pattern, "")
        for m in MACHINE_PATHS.finditer(text):
            offenders.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not offenders, "machine-specific paths: " + ", ".join(offenders[:20])
