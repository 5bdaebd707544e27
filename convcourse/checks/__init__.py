"""Self-checks with feedback that teaches: what went wrong, on which input, and which idea was
probably misunderstood.

Visible test cells call ``check_xxx(obj)``; hidden ones ``check_xxx(obj, seed=student_seed(),
hidden=True)``.  Success prints one line; failure raises ``CheckFailed`` (an AssertionError)
whose message names the misconception.  ``EXERCISES`` describes every exercise as data
(cases, probe, judge) for the instructor's grader.
"""

from convcourse.checks.backprop import INPUT_GRAD, check_input_grad
from convcourse.checks.calls import time_limit_override
from convcourse.checks.channels import CONV1X1, check_conv1x1
from convcourse.checks.core import Case, CheckFailed, Exercise, Outcome, Verdict
from convcourse.checks.curvature import LR_LIMIT, check_lr_limit
from convcourse.checks.depth import RECEPTIVE_FIELD, check_receptive_field
from convcourse.checks.edges import DIAGONAL_EDGES, check_diagonal_edge_responses
from convcourse.checks.integrals import INTEGRAL_KERNEL, check_integral_kernel
from convcourse.checks.lesson1 import (
    DENSE_LAYER,
    DENSE_WEIGHT,
    PARAM_COUNTS,
    check_dense_layer,
    check_dense_weight,
    check_param_counts,
)
from convcourse.checks.lesson2 import (
    CONVOLVE2D,
    CORR2D,
    CORR2D_FAST,
    KERNEL_MATRIX,
    OUTPUT_SHAPE,
    check_convolve2d,
    check_corr2d,
    check_corr2d_fast,
    check_kernel_matrix,
    check_output_shape,
)
from convcourse.checks.lesson3 import (
    CONV2D_LAYER,
    KERNEL_GRAD,
    check_conv2d_layer,
    check_kernel_grad,
)
from convcourse.checks.lesson4 import (
    BLUR_KERNEL,
    DIRECTIONAL_KERNEL,
    HORIZONTAL_KERNEL,
    MIN_KERNEL_SIZE,
    SECOND_DERIVATIVE,
    check_blur_kernel,
    check_directional_edge_kernel,
    check_horizontal_edge_kernel,
    check_min_kernel_size,
    check_second_derivative_kernel,
)
from convcourse.checks.lesson5 import (
    RECOVER_KERNEL,
    TRAIN_KERNEL,
    check_recover_kernel,
    check_train_kernel,
)
from convcourse.checks.messages import MISCONCEPTION_KEYS, set_language
from convcourse.checks.predictions import check_prediction
from convcourse.checks.seeds import student_seed
from convcourse.checks.signals import CONVOLVE1D, CORR1D, check_convolve1d, check_corr1d
from convcourse.checks.speed import SPEED_EXERCISES, check_corr2d_speed

__all__ = [
    "EXERCISES",
    "GRADED_EXERCISES",
    "SPEED_EXERCISES",
    "LESSON_EXERCISES",
    "MISCONCEPTION_KEYS",
    "Case",
    "CheckFailed",
    "Exercise",
    "Outcome",
    "Verdict",
    "student_seed",
    "set_language",
    "time_limit_override",
    "check_param_counts",
    "check_dense_layer",
    "check_dense_weight",
    "check_conv1x1",
    "check_output_shape",
    "check_corr2d",
    "check_corr2d_fast",
    "check_corr2d_speed",
    "check_kernel_matrix",
    "check_convolve2d",
    "check_corr1d",
    "check_convolve1d",
    "check_prediction",
    "check_conv2d_layer",
    "check_kernel_grad",
    "check_input_grad",
    "check_receptive_field",
    "check_diagonal_edge_responses",
    "check_integral_kernel",
    "check_lr_limit",
    "check_horizontal_edge_kernel",
    "check_directional_edge_kernel",
    "check_second_derivative_kernel",
    "check_blur_kernel",
    "check_min_kernel_size",
    "check_train_kernel",
    "check_recover_kernel",
]

#: Every auto-graded exercise, keyed by its exercise id (the nbgrader grade_id of its cell).
EXERCISES: dict[str, Exercise] = {
    ex.id: ex
    for ex in (
        PARAM_COUNTS,
        DENSE_LAYER,
        DENSE_WEIGHT,
        CONV1X1,
        OUTPUT_SHAPE,
        CORR2D,
        CORR2D_FAST,
        KERNEL_MATRIX,
        CONVOLVE2D,
        CORR1D,
        CONVOLVE1D,
        CONV2D_LAYER,
        KERNEL_GRAD,
        INPUT_GRAD,
        RECEPTIVE_FIELD,
        HORIZONTAL_KERNEL,
        DIAGONAL_EDGES,
        INTEGRAL_KERNEL,
        DIRECTIONAL_KERNEL,
        SECOND_DERIVATIVE,
        BLUR_KERNEL,
        MIN_KERNEL_SIZE,
        TRAIN_KERNEL,
        LR_LIMIT,
        RECOVER_KERNEL,
    )
}

#: Every exercise a test cell may call, by id: ``EXERCISES`` and the speed checks (the one
#: registry the grader and the probe use).
GRADED_EXERCISES: dict[str, Exercise] = {
    **EXERCISES,
    **{ex.id: ex for ex in SPEED_EXERCISES.values()},
}

#: The assignment (lesson) of every exercise id.
LESSON_EXERCISES: dict[str, tuple[str, ...]] = {
    "01_dense_to_conv": ("param-counts", "dense-layer", "dense-weight", "conv1x1"),
    "02_cross_correlation": (
        "output-shape",
        "corr2d",
        "corr2d-fast",
        "corr2d-matmul",
        "convolve2d",
        "corr1d",
        "convolve1d",
    ),
    "03_conv_layer": ("conv2d-layer", "kernel-grad", "input-grad", "receptive-field"),
    "04_kernels_as_detectors": (
        "horizontal-kernel",
        "diagonal-edges",
        "directional-kernel",
        "second-derivative",
        "blur-kernel",
        "min-kernel-size",
        "integral-kernel",
    ),
    "05_learning_a_kernel": ("train-loop", "lr-limit", "recover-kernel"),
}
