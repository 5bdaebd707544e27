"""convcourse: checks, figures, kernels and toy images for the course on convolutions.

The student world (everything here but ``convcourse.instructor``) holds no answer to an
exercise; the course's own implementations are the instructor's
(``convcourse.instructor.reference``).
"""
