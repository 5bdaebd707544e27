"""Step 4 of the flow: verdicts, made outside the sandbox.

``scan`` (with ``scan_walker`` and ``scan_policy``) reads the submitted code: what each answer
reaches, and evidence of tampering; ``verdicts`` makes each test's cases and judges what the
sandbox observed; ``timing`` times the speed exercises on CPU clocks; ``evidence`` turns the
scan's and the run's evidence into withheld or pointless points.
"""
