"""In a real notebook kernel: one line on success, the message without a traceback into
convcourse on failure, and a picture for a large wrong output."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

CELL_FAIL = """
import torch
from convcourse.checks import check_corr2d, check_corr2d_fast

def corr2d_fast(X, K):
    h, w = K.shape
    o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
    dtype = torch.promote_types(X.dtype, K.dtype)
    Y = torch.zeros((o_h, o_w), dtype=dtype)
    for a in range(h):
        for b in range(w):
            Y = Y + X[a : a + o_h, b : b + o_w].to(dtype) * K[a, b].to(dtype)
    return Y

def corr2d(X, K):
    Y = corr2d_fast(X.double(), K.double())
    if Y.numel() > 100:
        Y[2:5, 3:6] += 1
    return Y

check_corr2d(corr2d)
"""


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    names = KernelSpecManager().find_kernel_specs()
    for name in ("convcourse", "python3"):
        if name in names:
            return name
    pytest.skip("no Python kernel installed")


def test_feedback_in_a_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(CELL_FAIL),
        nbformat.v4.new_code_cell("check_corr2d_fast(corr2d_fast)"),
    ]
    client = nbclient.NotebookClient(nb, kernel_name=_kernel_name(), allow_errors=True, timeout=120)
    client.execute()
    failed, passed = nb.cells[0].outputs, nb.cells[1].outputs
    pictures = [o for o in failed if o.output_type == "display_data" and "image/png" in o.data]
    errors = [o for o in failed if o.output_type == "error"]
    assert len(pictures) == 1
    assert len(errors) == 1 and errors[0].ename == "CheckFailed"
    traceback = "\n".join(errors[0].traceback)
    assert "cells differ" in traceback
    assert "convcourse/checks" not in traceback and "File " not in traceback
    assert [o.output_type for o in passed] == ["stream"]
    assert passed[0].text.startswith("✔ corr2d-fast:") and passed[0].text.count("\n") == 1
