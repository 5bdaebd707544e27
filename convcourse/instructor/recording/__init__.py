"""Step 5 of the flow: outcomes recorded.

``results`` owns the grader's results files (one per submission: the "done" mark);
``gradebook`` writes nbgrader's gradebook as ``nbgrader autograde`` does; ``autograded`` builds
the autograded notebook nbgrader's tools read.
"""
