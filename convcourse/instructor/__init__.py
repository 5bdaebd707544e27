"""Instructor tooling for convcourse: release, grading and reports (never imported by students)."""
