"""Submissions for the static scan (convcourse/instructor/scan.py): attacks it must find, and
honest code it must leave alone.

A case is a few code cells written as a student would, placed after a trusted setup cell like the
lessons' (imports, the lesson-3 ``torch_corr2d`` wrapper) and before the test cell of one
exercise.  ``build`` turns a case into the scan's input.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from convcourse.instructor.judging.scan import ScanCell, Target

# common.md's table: exercise id -> the rules its answer must follow.
FORBIDS = {
    "param-counts": {"shipped"},
    "dense-layer": {"shipped", "library_conv"},
    "dense-weight": {"shipped", "library_conv"},
    "output-shape": {"shipped"},
    "corr2d": {"shipped", "library_conv"},
    "convolve2d": {"shipped", "library_conv"},
    "corr2d-fast": {"shipped", "library_conv"},
    "corr2d-speed-pass": {"shipped", "library_conv"},
    "corr2d-speed-full": {"shipped", "library_conv"},
    "corr2d-matmul": {"shipped", "library_conv"},
    "conv2d-layer": {"shipped", "conv_module"},
    "kernel-grad": {"shipped", "autograd"},
    "horizontal-kernel": {"shipped"},
    "second-derivative": {"shipped"},
    "min-kernel-size": {"shipped"},
    "blur-kernel": {"shipped"},
    "directional-kernel": {"shipped"},
    "train-loop": {"shipped"},
    "recover-kernel": {"shipped"},
    "conv1x1": {"shipped", "library_conv"},
    "corr1d": {"shipped", "library_conv"},
    "convolve1d": {"shipped", "library_conv"},
    "input-grad": {"shipped", "autograd"},
    "receptive-field": {"shipped"},
    "diagonal-edges": {"shipped", "library_conv"},
    "integral-kernel": {"shipped"},
    "lr-limit": {"shipped"},
}
# The symbol each exercise's test cell passes (the first one, for param-counts).
SYMBOL = {
    "param-counts": "dense_param_count",
    "dense-layer": "dense_layer",
    "dense-weight": "dense_weight_from_kernel",
    "output-shape": "output_shape",
    "corr2d": "corr2d",
    "convolve2d": "convolve2d",
    "corr2d-fast": "corr2d_fast",
    "corr2d-matmul": "kernel_matrix",
    "conv2d-layer": "Conv2D",
    "kernel-grad": "kernel_grad",
    "horizontal-kernel": "K_horizontal",
    "second-derivative": "second_derivative_kernel",
    "min-kernel-size": "min_kernel_size",
    "blur-kernel": "blur_kernel",
    "directional-kernel": "directional_edge_kernel",
    "train-loop": "train_kernel",
    "recover-kernel": "recover_kernel",
    "conv1x1": "conv1x1",
    "corr1d": "corr1d",
    "convolve1d": "convolve1d",
    "input-grad": "input_grad",
    "receptive-field": "receptive_field",
    "diagonal-edges": "diagonal_edge_responses",
    "integral-kernel": "integral_kernel",
    "lr-limit": "lr_limit",
}

SETUP = '''import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from d2l import torch as d2l
from torch import nn

from convcourse import images, plots
from convcourse.checks import check_corr2d, student_seed  # noqa: F401


def torch_corr2d(X, K):
    """PyTorch's own cross-correlation of a 2-D X with a 2-D K."""
    return F.conv2d(X[None, None], K[None, None])[0, 0]


X = images.edge_image()
K = torch.tensor([[1.0, -1.0]])
'''


@dataclass(frozen=True)
class Case:
    name: str
    exercise: str
    cells: tuple[str, ...]  # the student's cells, in order
    expect: frozenset[str] = frozenset()  # rules that must be found (forbidden code)
    words: tuple[str, ...] = ()  # words some tampering finding must contain
    where: tuple[int, int] | None = None  # (student cell number from 0, line) of a finding


def py(text: str) -> str:
    """A cell's code written as an indented block."""
    return textwrap.dedent(text).strip("\n")


def case(name, exercise, *cells, expect=(), words=(), where=None) -> Case:
    return Case(name, exercise, tuple(cells), frozenset(expect), tuple(words), where)


def build(c: Case, after: tuple[str, ...] = ()) -> tuple[list[ScanCell], Target]:
    """Cell 0: the trusted setup; then the case's cells; then the test cell; then ``after``."""
    cells = [ScanCell(0, SETUP, True)]
    for i, source in enumerate(c.cells):
        cells.append(ScanCell(i + 1, source, False))
    position = len(cells)
    symbol = SYMBOL.get(c.exercise, "corr2d")
    cells.append(ScanCell(position, f"check_corr2d({symbol})", True))
    for source in after:
        cells.append(ScanCell(len(cells), source, False))
    return cells, Target(c.exercise, (symbol,), position, frozenset(FORBIDS[c.exercise]))


# ----------------------------------------------------------------------------------------
# (a) Forbidden code reached by an answer: each must be found with the rule named.

LOOP = """def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y
"""

FORBIDDEN = [
    # -- the reproductions of the audit
    case(
        "course_corr",
        "corr2d",
        "import convcourse.corr\ncorr2d = convcourse.corr.corr2d",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "course_from_import",
        "corr2d",
        "from convcourse.corr import corr2d",
        expect={"shipped"},
        where=(0, 1),
    ),
    case(
        "course_module_alias",
        "corr2d",
        "from convcourse import corr as c\ncorr2d = c.corr2d",
        expect={"shipped"},
    ),
    case("d2l_direct", "corr2d", "corr2d = d2l.corr2d", expect={"shipped"}, where=(0, 1)),
    case(
        "d2l_wrapped",
        "corr2d",
        "def corr2d(X, K):\n    return d2l.corr2d(X, K).float()",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "course_layer_subclass",
        "conv2d-layer",
        "from convcourse import layers\n\nclass Conv2D(layers.Conv2D):\n    pass",
        expect={"shipped"},
    ),
    case(
        "course_layer_dotted_subclass",
        "conv2d-layer",
        "import convcourse.layers\n\nclass Conv2D(convcourse.layers.Conv2D):\n    pass",
        expect={"shipped"},
    ),
    case(
        "conv2d_without_torch_function",
        "corr2d",
        "def corr2d(X, K):\n    with torch._C.DisableTorchFunction():\n"
        "        return F.conv2d(X[None, None], K[None, None])[0, 0]",
        expect={"library_conv"},
        where=(0, 3),
    ),
    case(
        "aten_convolution",
        "corr2d",
        "def corr2d(X, K):\n    out = torch.ops.aten.convolution(\n"
        "        X[None, None], K[None, None], None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1\n"
        "    )\n    return out[0, 0]",
        expect={"library_conv"},
        where=(0, 2),
    ),
    case(
        "private_convolution",
        "corr2d-fast",
        "def corr2d_fast(X, K):\n    return torch._convolution(X, K, None, [1], [0], [1], "
        "False, [0], 1, False, False, True, True)",
        expect={"library_conv"},
    ),
    case(
        "mkldnn",
        "corr2d-fast",
        "def corr2d_fast(X, K):\n    return torch.ops.aten.mkldnn_convolution(X, K)",
        expect={"library_conv"},
    ),
    case(
        "torch_conv2d",
        "corr2d",
        "def corr2d(X, K):\n    return torch.conv2d(X, K)",
        expect={"library_conv"},
    ),
    case(
        "conv_transpose",
        "corr2d",
        "def corr2d(X, K):\n    return F.conv_transpose2d(X, K)",
        expect={"library_conv"},
    ),
    case(
        "nn_conv_module",
        "corr2d",
        "def corr2d(X, K):\n    conv = nn.Conv2d(1, 1, K.shape, bias=False)\n"
        "    conv.weight.data[:] = K\n    return conv(X[None, None])[0, 0]",
        expect={"library_conv"},
    ),
    case(
        "lazy_conv",
        "corr2d",
        "def corr2d(X, K):\n    return nn.LazyConv2d(1, K.shape)(X[None, None])",
        expect={"library_conv"},
    ),
    case(
        "scipy_signal",
        "corr2d-fast",
        "from scipy import signal\n\ndef corr2d_fast(X, K):\n"
        "    return torch.as_tensor(signal.correlate2d(X.numpy(), K.numpy(), mode='valid'))",
        expect={"library_conv"},
    ),
    case(
        "scipy_from_import",
        "corr2d-fast",
        "from scipy.signal import fftconvolve as fc\n\ndef corr2d_fast(X, K):\n"
        "    return torch.as_tensor(fc(X.numpy(), K.flip(0, 1).numpy(), mode='valid'))",
        expect={"library_conv"},
    ),
    case(
        "scipy_ndimage",
        "corr2d-fast",
        "import scipy.ndimage\n\ndef corr2d_fast(X, K):\n"
        "    return scipy.ndimage.correlate(X.numpy(), K.numpy())",
        expect={"library_conv"},
    ),
    case(
        "numpy_convolve",
        "corr2d",
        "def corr2d(X, K):\n    return np.convolve(X.numpy().ravel(), K.numpy().ravel())",
        expect={"library_conv"},
    ),
    case(
        "conv_module_base",
        "conv2d-layer",
        "class Conv2D(nn.Conv2d):\n    def __init__(self, kernel_size):\n"
        "        super().__init__(1, 1, kernel_size)",
        expect={"conv_module"},
        where=(0, 1),
    ),
    case(
        "conv_module_submodule",
        "conv2d-layer",
        "class Conv2D(nn.Module):\n    def __init__(self, kernel_size):\n"
        "        super().__init__()\n        self.conv = nn.Conv2d(1, 1, kernel_size)\n\n"
        "    def forward(self, X):\n        return self.conv(X[None, None])[0, 0]",
        expect={"conv_module"},
        where=(0, 4),
    ),
    case(
        "conv_module_grandparent",
        "conv2d-layer",
        "class Base(nn.ConvTranspose2d):\n    pass",
        "class Conv2D(Base):\n    pass",
        expect={"conv_module"},
        where=(0, 1),
    ),
    case(
        "conv_module_dotted",
        "conv2d-layer",
        "import torch.nn as tnn\n\nclass Conv2D(tnn.modules.conv.Conv2d):\n    pass",
        expect={"conv_module"},
    ),
    # -- aliases
    case(
        "alias_module",
        "corr2d",
        "g = F",
        "def corr2d(X, K):\n    return g.conv2d(X, K)",
        expect={"library_conv"},
        where=(1, 2),
    ),
    case(
        "alias_import_as",
        "corr2d",
        "import torch as t\n\ndef corr2d(X, K):\n    return t.nn.functional.conv2d(X, K)",
        expect={"library_conv"},
    ),
    case(
        "alias_from_import_as",
        "corr2d",
        "from torch.nn.functional import conv2d as c\n\ndef corr2d(X, K):\n    return c(X, K)",
        expect={"library_conv"},
        where=(0, 1),
    ),
    case(
        "alias_functional_as",
        "corr2d",
        "from torch.nn import functional as FF\n\ndef corr2d(X, K):\n    return FF.conv2d(X, K)",
        expect={"library_conv"},
    ),
    case("alias_plain", "corr2d", "corr2d = F.conv2d", expect={"library_conv"}),
    case("alias_chain", "corr2d", "a = d2l", "b = a", "corr2d = b.corr2d", expect={"shipped"}),
    case("alias_tuple", "corr2d", "corr2d, other = d2l.corr2d, 1", expect={"shipped"}),
    case("alias_for_target", "corr2d", "for corr2d in [d2l.corr2d]:\n    pass", expect={"shipped"}),
    case(
        "alias_with_target",
        "corr2d",
        "class Holder:\n    def __init__(self, f):\n        self.f = f\n\n"
        "    def get(self):\n        return self.f\n\n",
        "with torch.no_grad():\n    corr2d = Holder(d2l.corr2d).get()",
        expect={"shipped"},
    ),
    case(
        "alias_except_target",
        "corr2d",
        "try:\n    corr2d = d2l.corr2d\nexcept Exception:\n    pass",
        expect={"shipped"},
    ),
    case("alias_in_if", "corr2d", "if True:\n    corr2d = d2l.corr2d", expect={"shipped"}),
    # -- nesting, lambdas, classes, decorators, defaults
    case(
        "nested_function",
        "corr2d",
        "def corr2d(X, K):\n    def inner():\n        return F.conv2d(X, K)\n    return inner()",
        expect={"library_conv"},
        where=(0, 3),
    ),
    case(
        "helper_function",
        "convolve2d",
        "def helper(X, K):\n    return d2l.corr2d(X, K)",
        "def convolve2d(X, K):\n    return helper(X, torch.flip(K, (0, 1)))",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "deep_helpers",
        "corr2d",
        "def a(X, K):\n    return F.conv2d(X, K)",
        "def b(X, K):\n    return a(X, K)",
        "def c(X, K):\n    return b(X, K)",
        "def corr2d(X, K):\n    return c(X, K)",
        expect={"library_conv"},
        where=(0, 2),
    ),
    case(
        "lambda",
        "corr2d",
        "corr2d = lambda X, K: F.conv2d(X[None, None], K[None, None])[0, 0]",
        expect={"library_conv"},
    ),
    case(
        "lambda_in_helper",
        "corr2d",
        "ops = {'corr': lambda X, K: d2l.corr2d(X, K)}",
        "def corr2d(X, K):\n    return ops['corr'](X, K)",
        expect={"shipped"},
    ),
    case(
        "class_attribute",
        "corr2d",
        "class Impl:\n    f = staticmethod(d2l.corr2d)",
        "def corr2d(X, K):\n    return Impl.f(X, K)",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "method_of_instance",
        "corr2d",
        "class Impl:\n    def run(self, X, K):\n        return F.conv2d(X, K)\n\nimpl = Impl()",
        "def corr2d(X, K):\n    return impl.run(X, K)",
        expect={"library_conv"},
    ),
    case(
        "decorator_wraps",
        "corr2d",
        "import functools\n\n@functools.wraps(d2l.corr2d)\ndef corr2d(X, K):\n    return X",
        expect={"shipped"},
    ),
    case(
        "decorator_replaces",
        "corr2d",
        "def use_library(f):\n    return lambda X, K: F.conv2d(X, K)",
        "@use_library\ndef corr2d(X, K):\n    raise NotImplementedError",
        expect={"library_conv"},
    ),
    case(
        "default_argument",
        "corr2d",
        "def corr2d(X, K, impl=d2l.corr2d):\n    return impl(X, K)",
        expect={"shipped"},
    ),
    case(
        "class_layer_forward",
        "conv2d-layer",
        "from convcourse.instructor.reference import layers as L\n\n"
        "class Conv2D(nn.Module):\n    def forward(self, X):\n        return L.Conv2D((1, 2))(X)",
        expect={"shipped"},
    ),
    # -- star imports, comprehensions, walrus, strings
    case(
        "star_torch",
        "corr2d",
        "from torch.nn.functional import *\n\ndef corr2d(X, K):\n    return conv2d(X, K)",
        expect={"library_conv"},
    ),
    case("star_d2l_provides_symbol", "corr2d", "from d2l.torch import *", expect={"shipped"}),
    case("star_after_own_def", "corr2d", LOOP, "from d2l.torch import *", expect={"shipped"}),
    case(
        "comprehension_value",
        "corr2d",
        "impls = [F.conv2d for _ in range(1)]",
        "def corr2d(X, K):\n    return impls[0](X, K)",
        expect={"library_conv"},
    ),
    case(
        "comprehension_in_body",
        "corr2d",
        "def corr2d(X, K):\n    return [g(X, K) for g in (F.conv2d,)][0]",
        expect={"library_conv"},
    ),
    case(
        "walrus_in_body",
        "corr2d",
        "def corr2d(X, K):\n    return (f := F.conv2d)(X, K)",
        expect={"library_conv"},
    ),
    case("walrus_module", "corr2d", "(corr2d := d2l.corr2d)", expect={"shipped"}),
    case(
        "walrus_in_comprehension",
        "corr2d",
        "[corr2d := d2l.corr2d for _ in range(1)]",
        expect={"shipped"},
    ),
    case(
        "getattr_constant",
        "corr2d",
        "def corr2d(X, K):\n    return getattr(F, 'conv2d')(X, K)",
        expect={"library_conv"},
    ),
    case(
        "getattr_built_name",
        "corr2d",
        "def corr2d(X, K):\n    return getattr(F, 'conv' + '2d')(X, K)",
        expect={"library_conv"},
        words=("computed at run time",),
    ),
    case("getattr_d2l", "corr2d", "corr2d = getattr(d2l, 'corr2d')", expect={"shipped"}),
    case(
        "string_dotted",
        "corr2d",
        "NAME = 'torch.nn.functional.conv2d'",
        "def corr2d(X, K):\n    return NAME",
        expect={"library_conv"},
    ),
    # -- containers, globals, late rebinding before the test
    case(
        "dict_item",
        "corr2d",
        "impls = {}\nimpls['f'] = d2l.corr2d",
        "def corr2d(X, K):\n    return impls['f'](X, K)",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "list_append",
        "corr2d",
        "impls = []\nimpls.append(F.conv2d)",
        "def corr2d(X, K):\n    return impls[0](X, K)",
        expect={"library_conv"},
    ),
    case(
        "class_attribute_set_later",
        "corr2d",
        "class NS:\n    pass\n\nNS.f = d2l.corr2d",
        "def corr2d(X, K):\n    return NS.f(X, K)",
        expect={"shipped"},
    ),
    case(
        "setattr_holder",
        "corr2d",
        "class NS:\n    pass\n\nsetattr(NS, 'f', d2l.corr2d)",
        "def corr2d(X, K):\n    return NS.f(X, K)",
        expect={"shipped"},
    ),
    case(
        "registry_decorator",
        "corr2d",
        py("""
        REGISTRY = {}

        def register(f):
            REGISTRY[f.__name__] = f
            return f
        """),
        "@register\ndef helper(X, K):\n    return d2l.corr2d(X, K)",
        "def corr2d(X, K):\n    return REGISTRY['helper'](X, K)",
        expect={"shipped"},
        where=(1, 3),
    ),
    case(
        "registry_through_calls",
        "corr2d",
        "TABLE = []\n\ndef put(f):\n    TABLE.append(f)\n\ndef add(f):\n    put(f)",
        "add(d2l.corr2d)",
        "def corr2d(X, K):\n    return TABLE[0](X, K)",
        expect={"shipped"},
        where=(1, 1),
    ),
    case(
        "star_before_dead_def",
        "corr2d",
        "from d2l.torch import *",
        "if False:\n    def corr2d(X, K):\n        return X",
        expect={"shipped"},
    ),
    case(
        "alias_of_class_written",
        "conv2d-layer",
        py("""
        class Conv2D(nn.Module):
            def forward(self, X):
                return self.impl(X, self.weight)
        """),
        "layer_type = Conv2D\nlayer_type.impl = staticmethod(d2l.corr2d)",
        expect={"shipped"},
    ),
    case(
        "match_capture",
        "corr2d",
        "match d2l.corr2d:\n    case corr2d:\n        pass",
        expect={"shipped"},
    ),
    case(
        "walrus_in_annotation",
        "corr2d",
        "def f(x: (corr2d := d2l.corr2d)):\n    pass",
        expect={"shipped"},
    ),
    case(
        "expression_decorator",
        "corr2d",
        "@lambda f: d2l.corr2d\ndef corr2d(X, K):\n    return X",
        expect={"shipped"},
    ),
    case(
        "defined_in_cell_magic",
        "corr2d",
        "%%time\ndef corr2d(X, K):\n    return F.conv2d(X, K)\n",
        expect={"library_conv"},
        where=(0, 3),
    ),
    case(
        "global_in_function",
        "corr2d",
        "def install():\n    global corr2d\n    corr2d = d2l.corr2d\n\ninstall()",
        expect={"shipped"},
    ),
    case("rebound_before_test", "corr2d", LOOP, "corr2d = F.conv2d", expect={"library_conv"}),
    case(
        "experiment_before_answer", "corr2d", "corr2d = F.conv2d", LOOP, expect={"library_conv"}
    ),  # every binding before the test counts (conservative)
    case(
        "magic_time_binding",
        "corr2d",
        "%time corr2d = d2l.corr2d",
        expect={"shipped"},
        where=(0, 1),
    ),
    case(
        "cell_magic_binding",
        "corr2d",
        "%%time\ncorr2d = d2l.corr2d\n",
        expect={"shipped"},
        where=(0, 2),
    ),
    case(
        "string_annotation",
        "corr2d",
        "def corr2d(X: 'd2l.corr2d', K) -> 'torch.Tensor':\n    return X",
        expect={"shipped"},
    ),
    # -- the trusted lesson code counts when an answer reaches it
    case(
        "trusted_wrapper_in_lesson_2",
        "corr2d",
        "def corr2d(X, K):\n    return torch_corr2d(X, K)",
        expect={"library_conv"},
    ),
    case(
        "course_data",
        "directional-kernel",
        "from convcourse import kernels\n\ndef directional_edge_kernel(v):\n"
        "    return v[0] * kernels.kernel('sobel_y') + v[1] * kernels.kernel('sobel_x')",
        expect={"shipped"},
    ),
    case(
        "course_image_global",
        "recover-kernel",
        "PHOTO = images.photograph(64)",
        "def recover_kernel(X, Y, kernel_shape):\n    return PHOTO[:2, :2]",
        expect={"shipped"},
    ),
    case(
        "d2l_trainer",
        "train-loop",
        "class T(d2l.Trainer):\n    pass\n\ndef train_kernel(X, Y, K_init, lr, num_epochs):\n"
        "    return T(max_epochs=num_epochs), []",
        expect={"shipped"},
    ),
    case(
        "d2l_module_base",
        "conv2d-layer",
        "class Conv2D(d2l.Module):\n    def forward(self, X):\n        return X",
        expect={"shipped"},
        where=(0, 1),
    ),
    case(
        "d2l_module_base_renamed",
        "conv2d-layer",
        "from d2l.torch import Module as M\n\nclass Conv2D(M):\n    pass",
        expect={"shipped"},
        where=(0, 3),
    ),
    case(
        "d2l_sgd",
        "train-loop",
        "def train_kernel(X, Y, K_init, lr, num_epochs):\n    K = K_init.clone()\n"
        "    opt = d2l.SGD([K], lr)\n    return K, []",
        expect={"shipped"},
    ),
    case(
        "d2l_loss",
        "train-loop",
        "def train_kernel(X, Y, K_init, lr, num_epochs):\n"
        "    return K_init, [d2l.squared_loss(X, Y).sum()]",
        expect={"shipped"},
    ),
    # -- autograd in kernel-grad
    case(
        "backward",
        "kernel-grad",
        "def kernel_grad(X, dY):\n    K = torch.zeros((X.shape[0] - dY.shape[0] + 1, "
        "X.shape[1] - dY.shape[1] + 1), requires_grad=True)\n"
        "    (torch_corr2d(X, K) * dY).sum().backward()\n    return K.grad",
        expect={"autograd"},
        where=(0, 3),
    ),
    case(
        "autograd_grad",
        "kernel-grad",
        "def kernel_grad(X, dY):\n    K = torch.zeros(2, 2, requires_grad=True)\n"
        "    return torch.autograd.grad((torch_corr2d(X, K) * dY).sum(), K)[0]",
        expect={"autograd"},
    ),
    case(
        "autograd_import",
        "kernel-grad",
        "from torch.autograd import grad as g\n\ndef kernel_grad(X, dY):\n    return g(X, dY)",
        expect={"autograd"},
    ),
    case(
        "functorch",
        "kernel-grad",
        "def kernel_grad(X, dY):\n    return torch.func.vjp(lambda K: torch_corr2d(X, K), X)",
        expect={"autograd"},
    ),
    case(
        "backward_by_string",
        "kernel-grad",
        "def kernel_grad(X, dY):\n    loss = (X * dY).sum()\n    getattr(loss, 'backward')()"
        "\n    return X",
        expect={"autograd"},
    ),
    # -- several symbols: one of them cheats
    case(
        "param_counts_second_symbol",
        "param-counts",
        "def dense_param_count(n_h, n_w, m_h, m_w):\n    return local_param_count(0)",
        "from convcourse.checks.lesson1 import _reference_local as local_param_count",
        expect={"shipped"},
    ),
]

# ----------------------------------------------------------------------------------------
# (b) Tampering evidence: each must be found, with these words in the finding.

TAMPERING = [
    # -- imports outside the allow-list
    case(
        "import_gc_alias",
        "corr2d",
        "import gc as _g\nobjs = _g.get_objects()",
        words=("imports gc",),
        where=(0, 1),
    ),
    *(
        case(f"import_{m}", "corr2d", f"import {m}", words=(f"imports {m}",), where=(0, 1))
        for m in (
            "sys",
            "os",
            "ctypes",
            "inspect",
            "importlib",
            "builtins",
            "threading",
            "multiprocessing",
            "subprocess",
            "signal",
            "socket",
            "mmap",
            "pickle",
            "marshal",
            "types",
            "io",
            "pathlib",
            "atexit",
            "weakref",
            "traceback",
            "codecs",
            "operator",
            "timeit",
            "asyncio",
            "_thread",
            "IPython",
            "concurrent.futures",
        )
    ),
    case(
        "import_instructor",
        "corr2d",
        "from convcourse.instructor.sandbox.inside import codec",
        words=("imports convcourse.instructor.sandbox.inside.codec",),
    ),
    case(
        "import_codec_module",
        "corr2d",
        "import convcourse.instructor.sandbox.inside.codec as c",
        words=("the grader's own code",),
    ),
    case(
        "import_worker",
        "corr2d",
        "from convcourse.instructor.sandbox.inside import runner",
        words=("imports convcourse.instructor",),
    ),
    case(
        "import_checks_internals",
        "corr2d",
        "import convcourse.checks.calls as calls",
        words=("convcourse.checks.calls",),
    ),
    case(
        "import_checks_table",
        "corr2d",
        "from convcourse.checks import EXERCISES",
        words=("convcourse.checks.EXERCISES",),
    ),
    case("import_private_name", "corr2d", "from torch import _C", words=("private",)),
    case("import_torch_library", "corr2d", "import torch.library", words=("torch.library",)),
    case(
        "import_from_torch_library",
        "corr2d",
        "from torch import overrides",
        words=("torch.overrides",),
    ),
    case(
        "import_in_function",
        "corr2d",
        "def corr2d(X, K):\n    import os\n    return X",
        words=("imports os",),
        where=(0, 2),
    ),
    case("dunder_import", "corr2d", "os = __import__('os')", words=("__import__",)),
    case(
        "importlib_by_builtins",
        "corr2d",
        "m = __builtins__.__import__('gc')",
        words=("__builtins__",),
    ),
    case(
        "future_grammar",
        "corr2d",
        "from __future__ import barry_as_FLUFL",
        words=("barry_as_FLUFL",),
    ),
    case("relative_import", "corr2d", "from . import something", words=("relative",)),
    case(
        "star_from_checks",
        "corr2d",
        "from convcourse.checks import *",
        words=("every name of convcourse.checks",),
    ),
    case(
        "module_through_module", "corr2d", "d2l.os.system('ls')", words=("reaches the os module",)
    ),
    case("sys_through_torch", "corr2d", "torch.sys.modules['x'] = None", words=("sys",)),
    # -- dynamic code and introspection
    *(
        case(f"builtin_{b}", "corr2d", code, words=(b,))
        for b, code in (
            ("exec", "exec('x = 1')"),
            ("eval", "y = eval('1 + 1')"),
            ("compile", "code = compile('x = 1', 'f', 'exec')"),
            ("globals", "g = globals()"),
            ("locals", "def f():\n    return locals()"),
            ("vars", "v = vars(torch)"),
            ("dir", "names = dir(torch)"),
            ("open", "with open('x.txt') as f:\n    pass"),
            ("breakpoint", "breakpoint()"),
            ("input", "answer = input()"),
            ("exit", "exit()"),
        )
    ),
    case("eval_aliased", "corr2d", "e = eval\nx = e('1')", words=("eval",)),
    case(
        "getattr_runtime_name",
        "corr2d",
        "name = 'conv2d'\nf = getattr(F, name)",
        words=("computed at run time",),
    ),
    case("getattr_private", "corr2d", "c = getattr(torch, '_C')", words=("private",)),
    case("getattr_dunder", "corr2d", "g = getattr(F.conv2d, '__globals__')", words=("special",)),
    case("hasattr_dunder", "corr2d", "ok = hasattr(torch, '__dict__')", words=("special",)),
    case(
        "getattr_as_value",
        "corr2d",
        "import functools\nf = functools.reduce(getattr, ['nn'], torch)",
        words=("passes getattr around",),
    ),
    case(
        "type_three_args",
        "corr2d",
        "T = type('T', (), {'__eq__': lambda s, o: True})",
        words=("type(name, bases",),
    ),
    case("get_ipython", "corr2d", "ip = get_ipython()", words=("IPython shell",)),
    case(
        "input_transformer",
        "corr2d",
        "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: lines)",
        words=("input transformer",),
    ),
    case("shell_escape", "corr2d", "!ls /proc/self/fd", words=("shell command",)),
    case("shell_capture", "corr2d", "files = !ls", words=("shell command",)),
    case("cell_magic_bash", "corr2d", "%%bash\nls\n", words=("%bash",)),
    case("line_magic_load_ext", "corr2d", "%load_ext autoreload", words=("%load_ext",)),
    case("line_magic_run", "corr2d", "%run other.py", words=("%run",)),
    case(
        "config_other",
        "corr2d",
        "%config InteractiveShell.ast_node_interactivity='all'",
        words=("%config",),
    ),
    case("magic_code_time", "corr2d", "%time import gc", words=("imports gc",)),
    case(
        "magic_code_timeit_options", "corr2d", "%timeit -n 1 -r 1 import gc", words=("imports gc",)
    ),
    case(
        "cell_magic_code",
        "corr2d",
        "%%timeit -n1\nimport gc\n",
        words=("imports gc",),
        where=(0, 2),
    ),
    case("history_out", "corr2d", "last = Out[5]", words=("output history",)),
    case("history_numbered", "corr2d", "last = _5", words=("history",)),
    case("await", "corr2d", "await something()", words=("asynchronous",)),
    case("async_def", "corr2d", "async def f():\n    pass", words=("asynchronous",)),
    case(
        "string_annotation_code",
        "corr2d",
        "def f(x: \"__import__('os').system('ls')\"):\n    pass",
        words=("__import__",),
    ),
    case(
        "pickle_load",
        "corr2d",
        "obj = torch.load('payload.pt', weights_only=False)",
        words=("torch.load",),
    ),
    case("numpy_pickle", "corr2d", "a = np.load('x.npy', allow_pickle=True)", words=("pickled",)),
    case(
        "global_module_hook",
        "corr2d",
        "torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: o)",
        words=("every torch module",),
    ),
    case("torch_ops", "corr2d", "op = torch.ops.aten.add", words=("torch.ops",)),
    # -- private and dunder attributes
    case(
        "torch_C",
        "corr2d",
        "with torch._C.DisableTorchFunction():\n    pass",
        words=("private attribute torch._C",),
    ),
    case(
        "pop_torch_function_modes",
        "corr2d",
        "while torch._C._len_torch_function_stack():\n    torch._C._pop_torch_function_stack()",
        words=("private",),
    ),
    case("object_dict", "corr2d", "d = F.__dict__", words=("__dict__",)),
    case("function_code", "corr2d", "code = F.conv2d.__code__", words=("__code__",)),
    case("function_globals", "corr2d", "g = check_corr2d.__globals__", words=("__globals__",)),
    case("subclasses", "corr2d", "subs = object.__subclasses__()", words=("__subclasses__",)),
    case("class_bases", "corr2d", "b = X.__class__.__bases__", words=("__class__",)),
    case("builtins_name", "corr2d", "b = __builtins__", words=("__builtins__",)),
    case(
        "private_of_other",
        "corr2d",
        "class A:\n    def f(self, other):\n        return other._secret",
        words=("private attribute other._secret",),
    ),
    # -- hooks and objects that lie
    *(
        case(
            f"define_{d}",
            "corr2d",
            f"class A:\n    def {d}(self, *a):\n        return 0",
            words=(d,),
            where=(0, 2),
        )
        for d in (
            "__del__",
            "__getattribute__",
            "__torch_function__",
            "__torch_dispatch__",
            "__init_subclass__",
            "__reduce__",
            "__array__",
            "__bool__",
        )
    ),
    case(
        "always_equal",
        "corr2d",
        "class Liar:\n    def __eq__(self, other):\n        return True",
        words=("__eq__ that is always true",),
    ),
    case(
        "dunder_by_assignment",
        "corr2d",
        "class Liar:\n    __ne__ = lambda self, o: False",
        words=("__ne__",),
    ),
    case("metaclass", "corr2d", "class Meta(type):\n    pass", words=("metaclass",)),
    case("metaclass_keyword", "corr2d", "class A(metaclass=Meta):\n    pass", words=("metaclass",)),
    case("tensor_subclass", "corr2d", "class T(torch.Tensor):\n    pass", words=("tensor",)),
    case(
        "tensor_subclass_alias",
        "corr2d",
        "Base = torch.Tensor\n\nclass T(Base):\n    pass",
        words=("tensor",),
    ),
    case("parameter_subclass", "corr2d", "class P(nn.Parameter):\n    pass", words=("tensor",)),
    case("computed_base", "corr2d", "class T(type(X)):\n    pass", words=("computed base",)),
    # -- monkeypatching
    case(
        "patch_allclose",
        "corr2d",
        "torch.allclose = lambda *a, **k: True",
        words=("monkeypatches torch.allclose",),
        where=(0, 1),
    ),
    case("patch_conv2d", "corr2d", "F.conv2d = lambda X, K: X", words=("monkeypatches F.conv2d",)),
    case(
        "patch_tensor_eq",
        "corr2d",
        "torch.Tensor.__eq__ = lambda self, other: True",
        words=("monkeypatches torch.Tensor.__eq__",),
    ),
    case(
        "patch_traced",
        "corr2d",
        "import convcourse.checks.calls\nconvcourse.checks.calls._TRACED = frozenset()",
        words=("monkeypatches convcourse.checks.calls._TRACED",),
    ),
    case(
        "patch_time",
        "corr2d",
        "time.perf_counter = lambda: 0.0",
        words=("monkeypatches time.perf_counter",),
    ),
    case(
        "patch_builtin",
        "corr2d",
        "import builtins\nbuiltins.isinstance = lambda *a: True",
        words=("redefines the builtin isinstance",),
    ),
    case(
        "patch_sys_modules",
        "corr2d",
        "import sys\nsys.modules['convcourse.checks'] = None",
        words=("sys.modules",),
    ),
    case(
        "patch_alias",
        "corr2d",
        "t = torch\nt.allclose = lambda *a: True",
        words=("monkeypatches t.allclose",),
    ),
    case(
        "patch_container",
        "corr2d",
        "mods = [torch, F]\nmods[0].allclose = lambda *a: True",
        words=("monkeypatches",),
    ),
    case(
        "patch_loop",
        "corr2d",
        "for m in (torch, F):\n    m.allclose = lambda *a: True",
        words=("monkeypatches m.allclose",),
    ),
    case(
        "patch_returned_module",
        "corr2d",
        "def get():\n    return torch\n\nget().allclose = lambda *a: True",
        words=("monkeypatches",),
    ),
    case(
        "patch_argument",
        "corr2d",
        "def patch(m):\n    m.allclose = lambda *a: True\n\npatch(torch)",
        words=("argument",),
    ),
    case("patch_type_of", "corr2d", "type(X).sum = lambda self: 0", words=("monkeypatches",)),
    case(
        "patch_setattr",
        "corr2d",
        "setattr(torch, 'allclose', lambda *a: True)",
        words=("monkeypatches torch.allclose",),
    ),
    case("patch_delete", "corr2d", "del torch.allclose", words=("deletes torch.allclose",)),
    case(
        "patch_checks_table",
        "corr2d",
        "import convcourse.checks as cc\ncc.EXERCISES.clear()",
        words=("checks' internals",),
    ),
    case(
        "patch_checks_item",
        "corr2d",
        "import convcourse.checks as cc\ncc.EXERCISES['corr2d'] = None",
        words=("replaces an entry of cc.EXERCISES",),
    ),
    case(
        "shadow_check",
        "corr2d",
        "check_corr2d = lambda f: None",
        words=("redefines the grading function check_corr2d",),
    ),
    case("shadow_check_def", "corr2d", "def check_corr2d(f):\n    pass", words=("check_corr2d",)),
    case("shadow_seed", "corr2d", "def student_seed():\n    return 0", words=("student_seed",)),
    case(
        "shadow_check_import",
        "corr2d",
        "from convcourse.checks import check_corr2d as check_convolve2d",
        words=("check_convolve2d",),
    ),
    case("delete_check", "corr2d", "del check_corr2d", words=("check_corr2d",)),
    # -- paths
    *(
        case(f"path_{i}", "corr2d", f"p = {text}", words=("refers to",))
        for i, text in enumerate(
            (
                "'/proc/self/fd'",
                "'/dev/shm/x'",
                "'/etc/shadow'",
                "'/opt/convcourse/gradebook.db'",
                "'gradebook.db'",
                "'../solutions/02/02.ipynb'",
                "'submitted/alice'",
                "f'/proc/{1}/environ'",
                "'/pr' + 'oc/self'",
                "b'/proc/self/mem'",
            )
        )
    ),
    # -- fake results and the rest
    case(
        "frames",
        "corr2d",
        "def corr2d(X, K):\n    g = (i for i in [0])\n    return g.gi_frame.f_back.f_globals",
        words=("frames",),
    ),
    case(
        "formatter_dunder",
        "corr2d",
        "import string\nobj = string.Formatter().get_field('0.__globals__', (print,), {})",
        words=("__globals__",),
    ),
    case("open_rebound", "corr2d", "open = open\nf = open('x')", words=("opens a file",)),
    case(
        "get_ipython_imported",
        "corr2d",
        "from IPython.display import get_ipython\nget_ipython().run_cell('x')",
        words=("IPython shell",),
    ),
    case(
        "script_output",
        "corr2d",
        "from IPython.display import HTML, display\ndisplay(HTML('<script>fetch(1)</script>'))",
        words=("script",),
    ),
    case(
        "javascript_output",
        "corr2d",
        "import IPython.display as D\nD.display(D.Javascript('alert(1)'))",
        words=("script",),
    ),
    case("read_file_numpy", "corr2d", "a = np.loadtxt('data.txt')", words=("reads a file",)),
    case("fake_result", "corr2d", "print('All tests passed ✔')", words=("imitates",)),
    case(
        "proc_fd", "corr2d", "import os\nfds = os.listdir('/proc/self/fd')", words=("imports os",)
    ),
    case(
        "daemon_thread",
        "corr2d",
        "import threading\n\ndef swap():\n    globals()['corr2d'] = d2l.corr2d\n\n"
        "threading.Thread(target=swap, daemon=True).start()",
        words=("imports threading",),
    ),
    case(
        "forged_frames",
        "corr2d",
        "from convcourse.instructor.sandbox.inside.codec import encode\n"
        "frame = encode({'t': 'test'})",
        words=("the grader's own code",),
    ),
]

# ----------------------------------------------------------------------------------------
# Honest student code: no finding at all.

HONEST = [
    case("loop", "corr2d", LOOP),
    case(
        "loop_helper",
        "corr2d",
        py("""
        def window(X, i, j, h, w):
            return X[i : i + h, j : j + w]
        """),
        py("""
        def corr2d(X, K):
            h, w = K.shape
            o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
            Y = torch.zeros((o_h, o_w))
            for i in range(o_h):
                for j in range(o_w):
                    Y[i, j] = (window(X, i, j, h, w) * K).sum()
            return Y
        """),
    ),
    case(
        "typed_loop",
        "corr2d",
        LOOP.replace(
            "def corr2d(X, K):",
            "def corr2d(X: torch.Tensor, K: 'torch.Tensor') -> torch.Tensor:",
        ),
    ),
    case(
        "einsum",
        "corr2d-fast",
        py("""
        def corr2d_fast(X, K):
            h, w = K.shape
            windows = X.unfold(0, h, 1).unfold(1, w, 1)
            return torch.einsum("ijab,ab->ij", windows, K)
        """),
    ),
    case(
        "unfold",
        "corr2d-fast",
        py("""
        def corr2d_fast(X, K):
            h, w = K.shape
            cols = F.unfold(X[None, None], (h, w))[0]
            return (K.reshape(1, -1) @ cols).reshape(X.shape[0] - h + 1, X.shape[1] - w + 1)
        """),
    ),
    case(
        "as_strided",
        "corr2d-fast",
        py("""
        def corr2d_fast(X, K):
            h, w = K.shape
            o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
            s0, s1 = X.stride()
            win = torch.as_strided(X, (o_h, o_w, h, w), (s0, s1, s0, s1))
            return (win * K).sum(dim=(2, 3))
        """),
    ),
    case(
        "numpy_windows",
        "corr2d-fast",
        py("""
        from numpy.lib.stride_tricks import sliding_window_view

        def corr2d_fast(X, K):
            win = sliding_window_view(X.numpy(), K.shape)
            return torch.as_tensor(np.einsum("ijab,ab->ij", win, K.numpy()))
        """),
    ),
    case(
        "fft",
        "corr2d-fast",
        py("""
        def corr2d_fast(X, K):
            h, w = K.shape
            s = X.shape
            Y = torch.fft.irfft2(torch.fft.rfft2(X) * torch.fft.rfft2(K.flip(0, 1), s), s)
            return Y[h - 1 :, w - 1 :]
        """),
    ),
    case(
        "shifted_sums",
        "corr2d-fast",
        py("""
        def corr2d_fast(X, K):
            h, w = K.shape
            o_h, o_w = X.shape[0] - h + 1, X.shape[1] - w + 1
            return sum(
                K[a, b] * X[a : a + o_h, b : b + o_w] for a in range(h) for b in range(w)
            )
        """),
    ),
    case(
        "convolve_reuses_corr2d",
        "convolve2d",
        LOOP,
        "def convolve2d(X, K):\n    return corr2d(X, torch.flip(K, (0, 1)))",
    ),
    case(
        "timeit_and_print",
        "corr2d",
        LOOP,
        "%timeit corr2d(X, K)\n%time Y = corr2d(X, K)\nprint(Y)",
        "%%timeit -n 3\ncorr2d(X, K)\n",
        "for f in [corr2d]:\n    print(f.__name__, f.__doc__, torch.__version__)",
    ),
    case(
        "compare_with_library",
        "corr2d",
        LOOP,
        py("""
        Y_lib = F.conv2d(X[None, None], K[None, None])[0, 0]
        print(torch.allclose(corr2d(X, K), Y_lib))
        print(torch.allclose(corr2d(X, K), torch_corr2d(X, K)))
        """),
    ),
    case(
        "matplotlib_and_help",
        "corr2d",
        "%matplotlib inline\nplt.rcParams['figure.figsize'] = (4, 3)",
        "%config InlineBackend.figure_format = 'svg'",
        "corr2d?",
        "torch.nn.functional.unfold??",
        LOOP,
    ),
    case(
        "shadowed_builtin",
        "directional-kernel",
        "dir = (1.0, 0.0)",
        py("""
        def directional_edge_kernel(v):
            v1, v2 = v
            return torch.tensor([[-(v1 + v2), v2], [v1, 0.0]])
        """),
        "print(directional_edge_kernel(dir))",
    ),
    case(
        "conv_layer",
        "conv2d-layer",
        py("""
        class Conv2D(nn.Module):
            def __init__(self, kernel_size):
                super().__init__()
                self.weight = nn.Parameter(torch.rand(kernel_size))
                self.bias = nn.Parameter(torch.zeros(1))
                self._calls = 0

            def forward(self, X):
                self._calls += 1
                return torch_corr2d(X, self.weight) + self.bias

            def __repr__(self):
                return f"Conv2D({tuple(self.weight.shape)})"
        """),
        py("""
        layer = Conv2D((1, 2))
        layer.weight.data[:] = K
        layer.bias.data.fill_(0.0)
        print(layer(X).shape)
        """),
    ),
    case(
        "conv_layer_old_style",
        "conv2d-layer",
        py("""
        class Conv2D(nn.Module):
            def __init__(self, kernel_size):
                nn.Module.__init__(self)
                self.weight = nn.Parameter(torch.rand(kernel_size))
                self.bias = nn.Parameter(torch.zeros(1))

            def forward(self, X):
                Y = F.conv2d(X[None, None], self.weight[None, None])
                return Y[0, 0] + self.bias
        """),
    ),
    case(
        "kernel_grad_by_hand",
        "kernel-grad",
        py("""
        def kernel_grad(X, dY):
            o_h, o_w = dY.shape
            G = torch.zeros(X.shape[0] - o_h + 1, X.shape[1] - o_w + 1)
            for a in range(G.shape[0]):
                for b in range(G.shape[1]):
                    G[a, b] = (X[a : a + o_h, b : b + o_w] * dY).sum()
            return G
        """),
        "K_r = torch.randn(2, 3, requires_grad=True)\nY_r = torch_corr2d(X, K_r)",
    ),
    case(
        "train_loop_autograd_allowed",
        "train-loop",
        py("""
        def train_kernel(X, Y, K_init, lr, num_epochs):
            K = K_init.detach().clone().requires_grad_(True)
            losses = []
            for _ in range(num_epochs):
                l = ((torch_corr2d(X, K) - Y) ** 2).sum()
                losses.append(l.item())
                if K.grad is not None:
                    K.grad.zero_()
                l.backward()
                with torch.no_grad():
                    K -= lr * K.grad
            return K.detach(), losses
        """),
    ),
    case(
        "train_with_optim",
        "train-loop",
        py("""
        def train_kernel(X, Y, K_init, lr, num_epochs):
            K = nn.Parameter(K_init.clone())
            opt = torch.optim.SGD([K], lr=lr)
            losses = []
            for _ in range(num_epochs):
                opt.zero_grad()
                loss = ((torch_corr2d(X, K) - Y) ** 2).sum()
                losses.append(float(loss))
                loss.backward()
                opt.step()
            return K, losses
        """),
    ),
    case(
        "recover_with_d2l_helpers",
        "recover-kernel",
        "device = d2l.try_gpu()",
        py("""
        def recover_kernel(X, Y, kernel_shape):
            X, Y = torch.stack(list(X)).to(device), torch.stack(list(Y)).to(device)
            K = torch.zeros(kernel_shape, requires_grad=True, device=device)
            opt = torch.optim.Adam([K], lr=0.1)
            timer = d2l.Timer()
            for epoch in range(300):
                opt.zero_grad()
                loss = sum(((torch_corr2d(x, K) - y) ** 2).sum() for x, y in zip(X, Y))
                loss.backward()
                opt.step()
            print(f"{timer.stop():.1f} s")
            return K.detach().cpu()
        """),
    ),
    case(
        "value_kernels",
        "horizontal-kernel",
        "K_horizontal = torch.tensor([[1.0], [-1.0]])\nprint(torch_corr2d(X.T, K_horizontal))",
    ),
    case(
        "dataclass_and_math",
        "blur-kernel",
        py("""
        import math
        from dataclasses import dataclass

        @dataclass
        class Spec:
            size: int

            def __post_init__(self):
                assert self.size > 0
        """),
        py("""
        def blur_kernel(size):
            spec = Spec(size)
            return torch.full((spec.size, spec.size), 1 / math.prod((size, size)))
        """),
    ),
    case(
        "try_except_and_asserts",
        "min-kernel-size",
        py("""
        def min_kernel_size(d):
            if d < 1:
                raise ValueError(f"order {d} < 1")
            return d + 1
        """),
        py("""
        try:
            min_kernel_size(0)
        except ValueError as err:
            print("as expected:", err)
        assert min_kernel_size(2) == 3
        """),
    ),
    case(
        "comprehensions_and_lambdas",
        "second-derivative",
        "diff = lambda a, b: a - b",
        py("""
        def second_derivative_kernel():
            w = [diff(1.0, 0.0), diff(-1.0, 1.0), 1.0]
            return torch.tensor([[x for x in w]])
        """),
        "results = {n: second_derivative_kernel().sum() for n in range(2)}\nprint(results)",
    ),
    case(
        "dense_layer_matmul",
        "dense-layer",
        py("""
        def dense_layer(X, W, U=0.0):
            m_h, m_w = W.shape[:2]
            return (W.reshape(m_h * m_w, -1) @ X.reshape(-1)).reshape(m_h, m_w) + U
        """),
    ),
    case(
        "local_helpers_named_like_library",
        "corr2d",
        "def conv(X, K):\n    return X",
        "def corr2d(X, K):\n    conv2d = lambda A, B: A\n    return conv(conv2d(X, K), K)",
    ),
    case(
        "main_guard_and_timing",
        "output-shape",
        py("""
        def output_shape(X_shape, K_shape):
            return (X_shape[0] - K_shape[0] + 1, X_shape[1] - K_shape[1] + 1)
        """),
        py("""
        start = time.perf_counter()
        shape = output_shape((6, 8), (1, 2))
        if __name__ == "__main__":
            print(shape, f"{time.perf_counter() - start:.3f} s")
        """),
    ),
    case("syntax_error_cell", "corr2d", "def corr2d(X, K)\n    import gc", LOOP),
    case("indented_cell", "corr2d", "    x = 1\n    y = 2", LOOP),
    case("leading_blank_lines", "corr2d", "\n\n%time x = 1", LOOP),
]
