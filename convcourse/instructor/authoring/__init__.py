"""Step 1 of the flow: what the instructor writes, and what students receive.

``spec`` reads the instructor's notebooks (``solutions/``) into the data every later step grades
against; ``release`` generates the student notebooks (``notebooks/``) with nbgrader; ``kit``
writes the student edition (``kit_audit`` proves it holds no answer).
"""
