"""The course's own implementations of the graded operations: cross-correlation (``corr``) and
the layers of lesson 01 and 03 (``layers``).

They are the instructor's: tests and instructor tooling use them as oracles and as known-good
answers.  They are never shipped to students (the student edition leaves out
``convcourse/instructor``), and nothing in the student world imports them: the checks compute
expected values with library primitives instead (``convcourse.oracle``).
"""
