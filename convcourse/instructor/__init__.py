"""Instructor tooling for convcourse (never imported by a student notebook, never shipped in the
student edition; of it, only ``sandbox/inside/`` is mounted in the grading sandbox).

A submission's path through the folders, in order::

    authoring/   the instructor's notebooks as data (spec), the release, the student edition (kit)
    intake/      submissions in: LMS exports and folders (ingest), notebooks read and planned
    sandbox/     the isolated run: the host side (host, memcap) and what runs inside (inside/)
    judging/     verdicts outside the sandbox: static scan, cases and judges, timing, evidence
    grading/     the conductor: one submission (task), a batch (batch: ``convcourse autograde``)
    recording/   results files, nbgrader's gradebook, autograded notebooks
    reporting/   outcomes, CSV export, feedback pages, reports

Beside them: ``cli/`` (the one ``convcourse`` command: ``parser`` and ``commands``), ``layout``
(where a course keeps things), ``files`` (atomic writes), ``reference/`` (the course's own
implementations, oracles for tests), ``release`` (``python -m convcourse.instructor.release``,
the same as ``convcourse release``).
"""
