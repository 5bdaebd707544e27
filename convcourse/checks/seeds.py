"""Per-student seeds: hidden test cases differ between students and are reproducible."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import torch

__all__ = [
    "student_id",
    "student_seed",
    "seed_of",
    "case_random",
    "DEFAULT_SEED",
    "ENV_STUDENT",
    "ENV_SALT",
]

#: Environment variable naming the student (set by the grader, or by hand to reproduce a run).
ENV_STUDENT = "CONVCOURSE_STUDENT_ID"
#: Optional instructor secret mixed into every seed, so ids alone do not reveal hidden cases.
ENV_SALT = "CONVCOURSE_SEED_SALT"
#: The seed outside autograding (instructor validation, a student running hidden tests locally).
DEFAULT_SEED = 1729


def _hash_int(text: str) -> int:
    """A stable 32-bit integer from ``text`` (Python's hash() changes between processes)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def student_id(cwd: str | os.PathLike | None = None) -> str | None:
    """The student's id: ``$CONVCOURSE_STUDENT_ID``, else taken from an nbgrader folder.

    During ``nbgrader autograde`` the kernel runs in ``autograded/<student_id>/<assignment>/``.
    """
    env = os.environ.get(ENV_STUDENT, "").strip()
    if env:
        return env
    parts = Path(cwd if cwd is not None else os.getcwd()).resolve().parts
    for i in range(len(parts) - 3, -1, -1):
        if parts[i] == "autograded":
            return parts[i + 1]
    return None


def student_seed(cwd: str | os.PathLike | None = None) -> int:
    """The seed of this student's hidden test cases (``DEFAULT_SEED`` when no student is known)."""
    sid = student_id(cwd)
    if sid is None:
        return DEFAULT_SEED
    return seed_of(sid)


def seed_of(student: str, salt: str | None = None) -> int:
    """The hidden-case seed of ``student`` (``salt``: the instructor's, default ``$ENV_SALT``);
    the same number the student's notebook and the grader compute."""
    salt = os.environ.get(ENV_SALT, "") if salt is None else salt
    return _hash_int(salt + "\0" + student)


def case_random(seed: int | None, exercise_id: str) -> tuple[torch.Generator, random.Random]:
    """Independent random streams for one exercise's cases (torch values, Python choices)."""
    base = _hash_int(f"{DEFAULT_SEED if seed is None else int(seed)}:{exercise_id}")
    return torch.Generator().manual_seed(base), random.Random(base)
