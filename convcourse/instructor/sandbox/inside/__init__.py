"""The code that runs inside the grading sandbox.

These modules are mounted read-only, alone, at ``/opt/convcourse-grader`` in every sandbox and
run there as scripts (``zygote.py`` is the entry point), so they import each other by plain
module name and import nothing else of ``convcourse.instructor``: only the standard library,
torch, IPython and the student-world ``convcourse.checks``.

- ``protocol``  the message kinds of the three channels and what each may carry;
- ``zygote``    the fork server: preloads, snapshots its pristine state, forks one notebook
                process per submission, verifies and serves each test's probe process, times
                the yardsticks, cleans up;
- ``notebook``  the notebook process from its fork: confines itself, then hands over to
- ``runner``    which runs the cells with IPython and forks a probe at each test;
- ``probe``     the probe process: checks it is pristine, probes the student's objects on
                the cases the grader sends, times what the grader asks;
- ``integrity`` the snapshot of the interpreter's state taken in the zygote, and its check;
- ``confine``   resource limits, seccomp filters and process clean-up.
"""
