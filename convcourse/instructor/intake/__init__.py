"""Step 2 of the flow: submissions come in.

``ingest`` brings an LMS export or a folder into ``submitted/`` (``archive``: reading the zip
or folder within limits; ``ingest_names``: how exports
name people and files; ``ingest_people``: identities and rosters; ``ingest_record``: the
grader's record of what came in, and when); ``notebook_io`` reads a submitted notebook
defensively, within bounds (``notebook_metadata``), and plans its run against the spec.
"""
