"""Ingest never merges two people: namesakes, one name in two Unicode forms or two letter cases,
rosters that cannot tell people apart -- distinct folders or a refusal, a warning, exit 1, and
ids that stay the same from one export to the next."""

from __future__ import annotations

import json
import unicodedata

import pytest
from ingest_corpus import (
    JOSE_NFC,
    JOSE_NFD,
    NOTEBOOK,
    A,
    Member,
    canvas,
    canvas_namesakes,
    moodle,
    moodle_namesakes,
    notebook,
    write_zip,
)

from convcourse.instructor.cli import main
from convcourse.instructor.intake.ingest import ingest
from convcourse.instructor.layout import CourseLayout


@pytest.fixture
def layout(tmp_path) -> CourseLayout:
    root = tmp_path / "course"
    (root / "solutions" / A).mkdir(parents=True)
    (root / "solutions" / A / NOTEBOOK).write_bytes(notebook("instructor"))
    return CourseLayout.load(root)


def tags(layout) -> dict[str, str]:
    """student folder -> the tag of the notebook stored there."""
    out = {}
    for folder in sorted((layout.root / "submitted").iterdir()):
        nb = folder / A / NOTEBOOK
        out[folder.name] = json.loads(nb.read_bytes())["metadata"]["tag"]
    return out


def record(layout) -> dict:
    return json.loads((layout.root / ".grading" / "ingest" / f"{A}.json").read_text())


def test_canvas_namesakes_get_their_own_folders_and_exit_1(layout, tmp_path, capsys):
    export = write_zip(tmp_path / "canvas.zip", canvas_namesakes())
    code = main(["ingest", A, str(export), "--course", str(layout.root)])
    out = capsys.readouterr().out
    assert code == 1
    assert tags(layout) == {
        "doejane": "doe-301",
        "garciajose_201": "garcia-201",
        "garciajose_202": "garcia-202",
        "smithjohn_101": "smith-101",
        "smithjohn_102": "smith-102",
    }
    assert out.count("WARNING") == 2 and "smithjohn_101" in out and "garciajose_202" in out
    identities = record(layout)["identities"]
    assert identities["canvas:102"] == {"name": "smithjohn_102"}
    # Another way of naming gets its own ids and leaves these alone.
    ingest(layout, A, export, id_from="lms-id")
    assert record(layout)["identities"]["canvas:102"] == {"name": "smithjohn_102", "lms-id": "102"}


def test_moodle_namesakes_and_unicode_forms_are_decided_by_the_participant_id(layout, tmp_path):
    report = ingest(layout, A, write_zip(tmp_path / "moodle.zip", moodle_namesakes()))
    assert report.lms == "moodle" and report.exit_code() == 1
    assert tags(layout) == {
        "jane_doe_1001": "jane-1001",
        "jane_doe_1002": "jane-1002",
        "jose_garcia_2001": "jose-2001",
        "jose_garcia_2002": "jose-2002",
    }
    # One person whose name the next export spells in the other Unicode form: same folder.
    again = [Member(moodle(JOSE_NFD, 2001, NOTEBOOK), notebook("jose-2001-v2"))]
    report = ingest(layout, A, write_zip(tmp_path / "moodle2.zip", again))
    assert report.written == {"jose_garcia_2001": [NOTEBOOK]} and report.exit_code() == 0
    assert tags(layout)["jose_garcia_2001"] == "jose-2001-v2"


def test_ids_stay_stable_when_a_namesake_appears_later(layout, tmp_path):
    first = [Member(canvas("smithjohn", 101, 1, NOTEBOOK), notebook("101-a"))]
    assert ingest(layout, A, write_zip(tmp_path / "1.zip", first)).exit_code() == 0
    assert tags(layout) == {"smithjohn": "101-a"}
    second = [
        Member(canvas("smithjohn", 101, 2, NOTEBOOK), notebook("101-b")),
        Member(canvas("smithjohn", 102, 3, NOTEBOOK), notebook("102-a")),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "2.zip", second))
    assert report.exit_code() == 1 and "canvas:101" in report.warnings[0]
    assert tags(layout) == {"smithjohn": "101-b", "smithjohn_102": "102-a"}
    # 102 alone, later: still their own folder, never 101's.
    third = [Member(canvas("smithjohn", 102, 4, NOTEBOOK), notebook("102-b"))]
    report = ingest(layout, A, write_zip(tmp_path / "3.zip", third))
    assert report.written == {"smithjohn_102": [NOTEBOOK]}
    assert tags(layout) == {"smithjohn": "101-b", "smithjohn_102": "102-b"}


def test_plain_folders_differing_only_in_letter_case_are_two_students(layout, tmp_path):
    members = [
        Member(f"Alice/{NOTEBOOK}", notebook("upper")),
        Member(f"alice/{NOTEBOOK}", notebook("lower")),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "p.zip", members), lms="plain")
    assert report.exit_code() == 1
    found = tags(layout)
    assert sorted(found.values()) == ["lower", "upper"] and len(found) == 2
    assert all(name.lower().startswith("alice_") for name in found)
    # The same run again gives the same ids (the hash of the name, not an order).
    assert ingest(layout, A, write_zip(tmp_path / "p.zip", members), lms="plain").written == {}


def test_one_plain_name_in_two_unicode_forms_is_one_student_with_a_warning(layout, tmp_path):
    members = [
        Member(f"{JOSE_NFC}/{NOTEBOOK}", notebook("nfc"), None),
        Member(f"{JOSE_NFD}/helper.py", b"x = 1\n"),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "p.zip", members), lms="plain")
    assert report.written == {"jose_garcia": [NOTEBOOK, "helper.py"]}
    assert report.exit_code() == 1 and "Unicode forms" in report.warnings[0]


def test_a_roster_that_cannot_tell_namesakes_apart_refuses_them(layout, tmp_path):
    export = write_zip(
        tmp_path / "moodle.zip",
        [
            Member(moodle("John Smith", 1, NOTEBOOK), notebook("js-1")),
            Member(moodle("John Smith", 2, NOTEBOOK), notebook("js-2")),
            Member(moodle("Ann Lee", 3, NOTEBOOK), notebook("al-3")),
        ],
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\njsmith,John Smith\nalee,Ann Lee\n", encoding="utf-8")
    report = ingest(layout, A, export, roster=roster)
    assert report.exit_code() == 1 and tags(layout) == {"alee": "al-3"}
    assert {why.split(" (")[0] for _, why in report.refused} == {
        "the roster cannot tell it from 'John Smith'"
    }
    # With the LMS id in the roster, the roster's jsmith is participant 1 and nobody else.
    roster.write_text("student_id,name,lms_id\njsmith,John Smith,1\nalee,Ann Lee,3\n")
    report = ingest(layout, A, export, roster=roster)
    assert tags(layout) == {"alee": "al-3", "jsmith": "js-1"}
    assert [why for _, why in report.refused] == ["not in the roster ('John Smith')"]


def test_a_roster_with_two_students_of_one_name_matches_neither(layout, tmp_path):
    export = write_zip(tmp_path / "m.zip", [Member(moodle("Kim Park", 7, NOTEBOOK), b"{}")])
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nkpark1,Kim Park\nkpark2,Kim Park\n", encoding="utf-8")
    report = ingest(layout, A, export, roster=roster)
    assert report.refused and "several students" in report.refused[0][1]
    assert not (layout.root / "submitted").exists()


def test_names_are_compared_after_nfc():
    from convcourse.instructor.intake.ingest_names import identify

    composed = identify(moodle(JOSE_NFC, 5, NOTEBOOK), "moodle", A)
    decomposed = identify(moodle(JOSE_NFD, 5, NOTEBOOK), "moodle", A)
    assert composed == decomposed and unicodedata.is_normalized("NFC", composed.name)


def test_anonymous_grading_uses_the_lms_id_without_warnings(layout, tmp_path):
    moodle_blind = [
        Member(moodle("Participant", 1001, NOTEBOOK), notebook("p-1001")),
        Member(moodle("Participant", 1002, NOTEBOOK), notebook("p-1002")),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "m.zip", moodle_blind))
    assert report.exit_code() == 0
    assert tags(layout) == {"participant_1001": "p-1001", "participant_1002": "p-1002"}
    canvas_anonymous = [
        Member(canvas("", "anon_x1Y2z", 5, NOTEBOOK, late=True), notebook("anon")),
    ]
    report = ingest(layout, A, write_zip(tmp_path / "c.zip", canvas_anonymous))
    assert report.lms == "canvas" and report.late == ["anon_x1Y2z"]
    assert tags(layout)["anon_x1Y2z"] == "anon"


def test_one_spelling_in_a_folder_and_a_file_is_no_unicode_warning(layout, tmp_path):
    members = [Member("alice.ipynb", notebook("flat")), Member("alice/helper.py", b"x = 1\n")]
    report = ingest(layout, A, write_zip(tmp_path / "p.zip", members), lms="plain")
    assert report.written == {"alice": [NOTEBOOK, "helper.py"]} and report.exit_code() == 0


def test_a_made_up_id_never_lands_in_someone_elses_folder(layout, tmp_path):
    # A plain folder literally named smithjohn_102, ingested first ...
    plain = [Member(f"smithjohn_102/{NOTEBOOK}", notebook("plain-person"))]
    ingest(layout, A, write_zip(tmp_path / "p.zip", plain), lms="plain")
    # ... then two Canvas namesakes: the one with id 102 must not get that folder.
    export = write_zip(tmp_path / "c.zip", canvas_namesakes()[:2])
    report = ingest(layout, A, export)
    found = tags(layout)
    assert found["smithjohn_102"] == "plain-person" and found["smithjohn_101"] == "smith-101"
    assert found["smithjohn_102_2"] == "smith-102" and report.exit_code() == 1
