"""The conductor of steps 2 to 5: ``task`` grades one submission (plan, run, judge) as plain
data in and out; ``batch`` grades an assignment's submissions in worker slots or on Dask and
records every outcome (``autograde``)."""
