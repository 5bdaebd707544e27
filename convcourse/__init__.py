"""convcourse: reference code, checks and figures for the course on convolutions."""
