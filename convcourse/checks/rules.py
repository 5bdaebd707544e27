"""The exercises' rules as data: what each rule forbids, and which exercise has which rules.

One table, used everywhere: the lesson texts state the rules (``statement``, ``rules_text``),
the checks enforce them at run time (``convcourse.checks.recorder`` records what a student's
call ran, the judges compare it with these tables), and the grader's static scan looks for the
same names in the submitted source.

Rules (``Exercise.forbids`` is a frozenset of these names):

- ``shipped``: no code that ships with the course or d2l: anything of the ``convcourse``
  package, and d2l's implementations ``d2l.corr2d``, ``d2l.sgd``, ``d2l.squared_loss``,
  ``d2l.SGD``, ``d2l.Trainer`` (and subclasses), ``d2l.train_*``.  Other d2l helpers
  (``d2l.try_gpu``, ``d2l.plot``, ``d2l.Timer``, ``d2l.Animator``) are fine.
- ``library_conv``: no library convolution or correlation (torch, scipy, numpy).  Allowed:
  unfold, as_strided, einsum, matmul, fft.
- ``conv_module``: no ``nn.Conv*`` module, neither as a base class nor as a submodule
  (``F.conv2d`` itself is allowed).
- ``autograd``: no autograd to get the answer: no ``.backward()``, no ``torch.autograd.*``,
  no reading ``.grad``.

The tables are frozen sets and tuples: the recorder copies what it needs when it is imported,
so changing them later changes no record.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "SHIPPED",
    "LIBRARY_CONV",
    "CONV_MODULE",
    "AUTOGRAD",
    "RULE_NAMES",
    "STATEMENTS",
    "MISCONCEPTIONS",
    "EXERCISE_RULES",
    "SHIPPED_PACKAGES",
    "D2L_SHIPPED_NAMES",
    "D2L_SHIPPED_PREFIXES",
    "D2L_TRAINER_SUBCLASSES",
    "TORCH_CONV_FUNCTIONS",
    "CONV_MODULE_CLASSES",
    "CONV_MODULE_PATH",
    "SCIPY_CONV_FUNCTIONS",
    "NUMPY_CONV_FUNCTIONS",
    "ATEN_CONV_FRAGMENTS",
    "ATEN_NOT_CONV_FRAGMENTS",
    "CONV_NAME_FRAGMENTS",
    "AUTOGRAD_ATTRIBUTES",
    "AUTOGRAD_FUNCTIONS",
    "AUTOGRAD_MODULES",
    "FORBIDDEN_ATTRIBUTES",
    "is_conv_op_name",
    "is_d2l_shipped",
    "statement",
    "rules_text",
]

SHIPPED = "shipped"
LIBRARY_CONV = "library_conv"
CONV_MODULE = "conv_module"
AUTOGRAD = "autograd"
RULE_NAMES: tuple[str, ...] = (SHIPPED, LIBRARY_CONV, CONV_MODULE, AUTOGRAD)

#: One line per rule, as the lesson texts and the checks' messages state it.
STATEMENTS: MappingProxyType[str, str] = MappingProxyType(
    {
        SHIPPED: "nothing that ships with the course or d2l: no convcourse code, no d2l.corr2d, "
        "d2l.sgd, d2l.squared_loss, d2l.SGD, d2l.Trainer or d2l.train_* (other d2l helpers such "
        "as d2l.try_gpu, d2l.plot or d2l.Timer are fine)",
        LIBRARY_CONV: "no library convolution or correlation: no F.conv1d/conv2d/conv3d, "
        "conv_transpose*, torch.conv*, torch.convolution or any other aten convolution op, no "
        "nn.Conv* module, no scipy.signal or scipy.ndimage correlate/convolve, no "
        "numpy.convolve/correlate (unfold, as_strided, einsum, matmul and fft are allowed)",
        CONV_MODULE: "no nn.Conv* module (nn.Conv2d, nn.LazyConv2d, nn.ConvTranspose2d, ...), "
        "neither as a base class nor as a submodule (F.conv2d inside forward is fine)",
        AUTOGRAD: "no autograd for the answer: no .backward(), no torch.autograd.*, no reading "
        ".grad (derive the gradient by hand)",
    }
)

#: The checks' misconception key when a rule is broken.
MISCONCEPTIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        SHIPPED: "shipped_code",
        LIBRARY_CONV: "library_conv",
        CONV_MODULE: "library_conv",
        AUTOGRAD: "used_autograd",
    }
)

_WRITE_IT = frozenset({SHIPPED, LIBRARY_CONV})

#: The rules of every exercise id (the grade id of its answer cell), the course's one table.
EXERCISE_RULES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "param-counts": frozenset({SHIPPED}),
        "dense-layer": _WRITE_IT,
        "dense-weight": _WRITE_IT,
        "conv1x1": _WRITE_IT,
        "output-shape": frozenset({SHIPPED}),
        "corr2d": _WRITE_IT,
        "convolve2d": _WRITE_IT,
        "corr2d-fast": _WRITE_IT,
        "corr2d-speed-pass": _WRITE_IT,
        "corr2d-speed-full": _WRITE_IT,
        "corr2d-matmul": _WRITE_IT,
        "corr1d": _WRITE_IT,
        "convolve1d": _WRITE_IT,
        "conv2d-layer": frozenset({SHIPPED, CONV_MODULE}),
        "kernel-grad": frozenset({SHIPPED, AUTOGRAD}),
        "input-grad": frozenset({SHIPPED, AUTOGRAD}),
        "receptive-field": frozenset({SHIPPED}),
        "horizontal-kernel": frozenset({SHIPPED}),
        "diagonal-edges": _WRITE_IT,
        "second-derivative": frozenset({SHIPPED}),
        "min-kernel-size": frozenset({SHIPPED}),
        "integral-kernel": frozenset({SHIPPED}),
        "blur-kernel": frozenset({SHIPPED}),
        "directional-kernel": frozenset({SHIPPED}),
        "train-loop": frozenset({SHIPPED}),
        "lr-limit": frozenset({SHIPPED}),
        "recover-kernel": frozenset({SHIPPED}),
    }
)

# --- shipped ------------------------------------------------------------------------------------

#: Packages whose every function is shipped code.
SHIPPED_PACKAGES = frozenset({"convcourse"})
#: d2l's implementations of what the exercises ask for (attribute names of ``d2l``).
D2L_SHIPPED_NAMES = frozenset({"corr2d", "sgd", "squared_loss", "SGD", "Trainer"})
#: d2l functions whose name starts like this are shipped too (d2l.train_ch6, ...).
D2L_SHIPPED_PREFIXES: tuple[str, ...] = ("train_",)
#: d2l's own subclasses of ``d2l.Trainer`` (a student's subclass runs Trainer's methods).
D2L_TRAINER_SUBCLASSES = frozenset({"HPOTrainer"})

# --- library_conv -------------------------------------------------------------------------------

#: Convolution functions of torch, torch.nn.functional, torch._C._nn and torch.ops.aten.
TORCH_CONV_FUNCTIONS = frozenset(
    {
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "conv_tbc",
        "convolution",
        "_convolution",
        "_convolution_mode",
        "convolution_backward",
        "cudnn_convolution",
        "cudnn_convolution_transpose",
        "cudnn_convolution_relu",
        "cudnn_convolution_add_relu",
        "miopen_convolution",
        "miopen_convolution_transpose",
        "miopen_depthwise_convolution",
        "mkldnn_convolution",
        "_mps_convolution",
        "_mps_convolution_transpose",
        "_nnpack_spatial_convolution",
        "_conv_depthwise2d",
        "conv_depthwise3d",
        "slow_conv3d",
        "slow_conv_dilated2d",
        "slow_conv_dilated3d",
        "slow_conv_transpose2d",
        "slow_conv_transpose3d",
        "thnn_conv2d",
    }
)
#: The convolution modules of torch.nn (classes).
CONV_MODULE_CLASSES = frozenset(
    {
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
        "LazyConv1d",
        "LazyConv2d",
        "LazyConv3d",
        "LazyConvTranspose1d",
        "LazyConvTranspose2d",
        "LazyConvTranspose3d",
        "_ConvNd",
        "_ConvTransposeNd",
    }
)
#: The module that defines them.
CONV_MODULE_PATH = "torch.nn.modules.conv"
#: scipy's correlation and convolution functions, by module.
SCIPY_CONV_FUNCTIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "scipy.signal": frozenset(
            {
                "correlate",
                "correlate2d",
                "convolve",
                "convolve2d",
                "fftconvolve",
                "oaconvolve",
            }
        ),
        "scipy.ndimage": frozenset({"correlate", "correlate1d", "convolve", "convolve1d"}),
    }
)
NUMPY_CONV_FUNCTIONS = frozenset({"convolve", "correlate"})
#: An aten operator whose name holds one of these is a convolution ...
ATEN_CONV_FRAGMENTS: tuple[str, ...] = ("conv",)
#: ... unless it holds one of these (dtype and layout conversions: ``_convert_indices...``).
ATEN_NOT_CONV_FRAGMENTS: tuple[str, ...] = ("convert",)
#: The same for the names of compiled entry points (torch, numpy and scipy functions in C).
CONV_NAME_FRAGMENTS: tuple[str, ...] = (*ATEN_CONV_FRAGMENTS, "correlate")

# --- autograd -----------------------------------------------------------------------------------

#: Tensor attributes and methods that use autograd.
AUTOGRAD_ATTRIBUTES = frozenset({"backward", "grad", "retain_grad", "register_hook"})
#: Functions of the autograd modules (torch.autograd, torch.autograd.functional, torch.func).
AUTOGRAD_FUNCTIONS = frozenset(
    {
        "backward",
        "grad",
        "grad_and_value",
        "vjp",
        "jvp",
        "jacobian",
        "jacrev",
        "jacfwd",
        "hessian",
        "hvp",
        "vhp",
    }
)
AUTOGRAD_MODULES = frozenset({"torch.autograd", "torch.func", "functorch"})

#: For the static scan: attribute names each rule forbids on any receiver (``x.conv2d``).
FORBIDDEN_ATTRIBUTES: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        SHIPPED: frozenset(),  # d2l names and the convcourse package depend on the receiver
        LIBRARY_CONV: TORCH_CONV_FUNCTIONS
        | CONV_MODULE_CLASSES
        | NUMPY_CONV_FUNCTIONS
        | frozenset().union(*SCIPY_CONV_FUNCTIONS.values()),
        CONV_MODULE: CONV_MODULE_CLASSES,
        AUTOGRAD: AUTOGRAD_ATTRIBUTES | AUTOGRAD_FUNCTIONS,
    }
)


def is_conv_op_name(name: str) -> bool:
    """True for the name of a convolution operator or entry point (``aten.convolution.default``,
    ``conv2d``, ``_convolve2d``, ``correlate``), False for conversions (``_convert_...``)."""
    lowered = str(name).lower()
    if any(bad in lowered for bad in ATEN_NOT_CONV_FRAGMENTS):
        return False
    return any(part in lowered for part in CONV_NAME_FRAGMENTS)


def is_d2l_shipped(qualname: str) -> bool:
    """True for the qualified name (inside d2l) of one of d2l's shipped implementations:
    ``corr2d``, ``SGD.step``, ``Trainer.fit``, ``HPOTrainer.fit``, ``train_ch6``."""
    head = str(qualname).split(".", 1)[0]
    if head in D2L_SHIPPED_NAMES or head in D2L_TRAINER_SUBCLASSES:
        return True
    return "." not in str(qualname) and head.startswith(D2L_SHIPPED_PREFIXES)


def statement(rule: str) -> str:
    """The one-line statement of ``rule`` for a student."""
    return STATEMENTS[rule]


def rules_text(forbids) -> str:
    """``Rules: write it yourself — …; …`` for an exercise that forbids the rules ``forbids``."""
    chosen = [r for r in RULE_NAMES if r in set(forbids)]
    if not chosen:
        return ""
    return "Rules: write it yourself — " + "; ".join(STATEMENTS[r] for r in chosen) + "."
