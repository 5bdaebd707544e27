"""Unit tests of the instructor's modules, one file per module (``test_<folder>_<module>.py``)."""
