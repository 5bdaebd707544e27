"""nbgrader configuration of the convcourse course, read from the repository root.

With this file, ``nbgrader generate_assignment``, ``autograde``, ``generate_feedback``,
``export`` and the formgrader work from the repository root with no edits:

- the instructor notebooks (with solutions, hidden tests and mark schemes) live in
  ``solutions/<assignment>/<assignment>.ipynb``;
- the student release lives in ``notebooks/<assignment>/<assignment>.ipynb``; it is generated
  from ``solutions/`` (``python -m convcourse.instructor.release``) and committed, never edited;
- ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are created beside this file
  when grading and are ignored by git.

The assignments, in teaching order, are the folders of ``solutions/`` (``LESSONS`` below).
``generate_assignment`` adds an assignment to the gradebook the first time it runs, so the
database needs no seeding.
"""

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

# The lessons of the course, each one nbgrader assignment with one notebook of the same name.
LESSONS = [
    "01_dense_to_conv",
    "02_cross_correlation",
    "03_conv_layer",
    "04_kernels_as_detectors",
    "05_learning_a_kernel",
]

c.CourseDirectory.course_id = "convcourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# The gradebook is nbgrader's default, ``sqlite:///<root>/gradebook.db`` with <root> the
# directory nbgrader runs in (the repository root); pass --CourseDirectory.db_url=... to use
# another database (for example PostgreSQL) without editing this file.

# Autograding runs whole lessons, training cells included; no cell takes more than a few
# seconds on a laptop, so a minute per cell only catches runaway student code.
c.Execute.timeout = 60

# Due dates and late work (README: "Due dates, extensions and late penalties").  nbgrader keeps
# due dates only in the gradebook; `convcourse autograde` writes these there.  Times are ISO 8601
# with a UTC offset, or without one if c.Deadlines.timezone is set.  Extensions are read from
# extensions.csv beside this file (student_id,assignment,due,extra_hours) when it exists.
# c.Deadlines.duedates = {"02_cross_correlation": "2026-11-20T23:59:00+01:00"}
# c.Deadlines.timezone = "Europe/Berlin"
# The penalty goes through nbgrader's late-submission plugin; nbgrader's default is no penalty.
# c.LateSubmissionPlugin.penalty_method = "zero"          # a late submission scores 0, or:
# c.AssignLatePenalties.plugin_class = (
#     "convcourse.instructor.recording.late_policy.PercentPerPeriod"
# )
# c.PercentPerPeriod.percent = 10        # % of the score per started period late
# c.PercentPerPeriod.period = "day"      # or "hour"
# c.PercentPerPeriod.cap_percent = 50    # never more than this in all

# Feedback is built from the autograded notebook, into which nbgrader has put the hidden tests
# back.  Remove them again so that no student sees hidden test code in a feedback file.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
