"""Step 6 of the flow: what students and the instructor get back.

``outcomes`` loads the gradebook and the results files into one data model; ``export`` writes
it as CSV; ``feedback`` writes one page per student; ``reports`` one page per assignment; both
pages share ``pages``.
"""
