"""Fixtures of the instructor outputs tests: a demo course folder (see outputs_course.py)."""

import shutil

import pytest
from outputs_course import STUDENTS, Course, build_gradebook, write_notebooks, write_results


@pytest.fixture(scope="session")
def course_template(tmp_path_factory):
    """Built once (creating an nbgrader database takes a second or two), copied per test."""
    path = tmp_path_factory.mktemp("template") / "course"
    path.mkdir()
    write_notebooks(path)
    build_gradebook(f"sqlite:///{path / 'gradebook.db'}", STUDENTS)
    write_results(path, STUDENTS)
    return path


@pytest.fixture
def course(course_template, tmp_path) -> Course:
    """The demo course: notebooks, gradebook and results files of the students above."""
    path = tmp_path / "course"
    shutil.copytree(course_template, path)
    return Course(path, f"sqlite:///{path / 'gradebook.db'}", STUDENTS)


@pytest.fixture
def empty_course(tmp_path) -> Course:
    """The demo assignment in the gradebook with students but no submission and no results."""
    path = tmp_path / "empty"
    path.mkdir()
    write_notebooks(path)
    db_url = f"sqlite:///{path / 'gradebook.db'}"
    build_gradebook(db_url, {"dave": STUDENTS["dave"]})
    return Course(path, db_url, {})
