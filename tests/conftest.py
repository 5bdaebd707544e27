"""Project-wide test settings."""

import os

import matplotlib
from hypothesis import HealthCheck, settings

# Figures are drawn off-screen in tests; never open windows or wait for a display.
matplotlib.use("Agg")
os.environ.setdefault("CONVCOURSE_STATIC", "1")
# The tests assert English messages unless they choose a language themselves.
os.environ.pop("CONVCOURSE_LANG", None)

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
