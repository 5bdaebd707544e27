"""The catalogue: every text the checks show to a student, in one place.

Misconceptions are keyed by a stable id (``flipped_kernel``, ``off_by_one``, ...) and have a
title, an explanation of the idea that was probably misunderstood, a hint that points back to
the lesson (without giving the solution away) and the lesson section it belongs to.  All other
texts (case labels, details, headers) are templates in ``TEXT``, filled with ``str.format``.

Translations live in modules of plain tables (``messages_zh``: simplified Chinese) and are
registered in ``CATALOGUES``; a test checks that every catalogue has every key, with the same
placeholders.  ``language()`` picks the catalogue: ``set_language(code)`` if it was called, else
the environment variable ``CONVCOURSE_LANG`` ("en" or "zh"), else English.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass

from convcourse.checks import messages_zh
from convcourse.checks.rules import STATEMENTS

__all__ = [
    "Misconception",
    "Catalogue",
    "CATALOGUES",
    "MISCONCEPTION_KEYS",
    "ENV_LANGUAGE",
    "set_language",
    "using_language",
    "language",
    "t",
    "misconception",
    "section",
    "compose",
]


@dataclass(frozen=True)
class Misconception:
    title: str
    explanation: str
    hint: str
    section: str | None = None  # None: the section of the exercise at hand


@dataclass(frozen=True)
class Catalogue:
    sections: dict[str, str]
    misconceptions: dict[str, Misconception]
    text: dict[str, str]


M = Misconception

SECTIONS_EN = {
    "dense": "Lesson 01, “A dense layer on images” (d2l §7.1)",
    "locality": "Lesson 01, “Translation invariance and locality” (d2l §7.1.2)",
    "shape": "Lesson 02, “The cross-correlation operation”, output size (d2l §7.2.1)",
    "corr": "Lesson 02, “The cross-correlation operation” (d2l §7.2.1)",
    "fast": "Lesson 02, “A faster corr2d”",
    "matmul": "Lesson 02, “Cross-correlation as a matrix product”",
    "convolution": "Lesson 02, “Cross-correlation and convolution” (d2l §7.2.5)",
    "layer": "Lesson 03, “Convolutional layers” (d2l §7.2.2)",
    "stacking": "Lesson 03, “Stacking layers: from simple patterns to complex ones” (d2l §7.2.6)",
    "curvature": "Lesson 05, “The learning rate” and why 0.03 works on the 6×8 image",
    "grad": "Lesson 03, “The gradient with respect to the kernel”",
    "detectors": "Lesson 04, “Object edge detection in images” (d2l §7.2.3)",
    "training": "Lesson 05, “Learning a kernel” (d2l §7.2.4)",
    "channels": "Lesson 01, “Channels”, and the 1×1 convolution (d2l §7.1.4)",
    "signals": "Lesson 02, “One dimension: sound” (d2l §7.1, Exercise 2)",
}

MISCONCEPTIONS_EN = {
    # --- any exercise -------------------------------------------------------------------------
    "raised": M(
        "Your code raised an error",
        "The check called your code and it stopped with an error before returning a result.",
        "Read the error and the line it points to, then run that line by hand on the case "
        "shown (print the shapes of the tensors involved).",
    ),
    "timeout": M(
        "Your code did not finish in time",
        "The check gives every call a time limit.  Code that never returns usually has a loop "
        "whose condition never becomes false (a while loop whose counter never changes), or it "
        "waits for input.",
        "Run your function on the small case shown and add a print in the loop to see whether it "
        "makes progress.",
    ),
    "not_implemented": M(
        "Not written yet",
        "The solution cell still raises NotImplementedError, the placeholder of the exercise.",
        "Replace `raise NotImplementedError()` with your code, run the cell, then this test.",
    ),
    "not_defined": M(
        "Name not defined",
        "The check looks for a name that your notebook did not define.",
        "Run the solution cell above (and the cells before it); keep the exact name the "
        "exercise asks for.",
    ),
    "returned_none": M(
        "Nothing returned",
        "A Python function without a `return` statement returns None.  Computing the result "
        "in a variable is not enough: the function has to return it.",
        "Check that the last line of your function returns the result (and is not inside a loop).",
    ),
    "not_a_tensor": M(
        "A NumPy array or a list instead of a tensor",
        "The rest of the course (layers, autograd, training) works with torch tensors.  A NumPy "
        "array or a Python list has no gradient, no device and none of torch's methods.",
        "Build the result with torch operations (torch.zeros, slicing, sum, ...), or convert at "
        "the end with torch.as_tensor.",
    ),
    "wrong_type": M(
        "Something of the wrong kind",
        "The exercise asks for a particular kind of value (shown below); the check got "
        "something else.",
        "Compare what your code returns with the exercise's statement; print type(result).",
    ),
    "nan_output": M(
        "NaN or infinity in the result",
        "NaN (not a number) or inf came out.  Usually an entry was never written (torch.empty "
        "holds whatever was in memory), or a value grew without bound.",
        "Start from torch.zeros instead of torch.empty and make sure every entry is computed.",
    ),
    "wrong_shape": M(
        "The result has the wrong shape",
        "The shape of the result does not match what the exercise asks for.",
        "Work out the expected shape by hand on the small case shown, then compare it with "
        "the shape your code creates.",
    ),
    "wrong_values": M(
        "Wrong values",
        "The result has the right shape but some values differ from the expected ones, and "
        "the difference does not match any of the usual mistakes the check knows.",
        "Compute one entry of the small case by hand, following the formula of the lesson, "
        "and compare it with your code step by step.",
    ),
    "wrong_device": M(
        "The result is on another device",
        "The inputs were on the CPU but your result is on another device.  Tensors on different "
        "devices cannot be combined, so the next step of the course would fail.",
        "Create new tensors on the input's device (device=X.device) and do not move results "
        "with .to(...) or .cuda() inside the function.",
    ),
    "modified_input": M(
        "Your code changed its input",
        "Operations like `+=`, `X[...] = ...` or methods ending in `_` modify a tensor in "
        "place.  The caller's tensor changes too, which corrupts data that is used again (and "
        "autograd forbids it on tensors that require gradients).",
        "Work on a new tensor (torch.zeros for the result, `.clone()` if you must modify a "
        "copy) and leave the arguments untouched.",
    ),
    "library_conv": M(
        "A library convolution where your own code is asked for",
        "This exercise is about writing the operation yourself; a library convolution "
        "(torch.nn.functional.conv2d, torch.conv2d, torch.ops.aten.convolution, an nn.Conv2d "
        "module, scipy's or numpy's correlate and convolve) computes it for you, so it earns "
        "nothing here.  The exercise's rules say what is allowed.",
        "Use only basic tensor operations (slicing, multiplication, sum, loops, unfold, einsum, "
        "matmul) as in the lesson.",
    ),
    "shipped_code": M(
        "Code that ships with the course or d2l",
        "Your answer runs code that comes with the course (the convcourse package) or one of "
        "d2l's implementations (d2l.corr2d, d2l.sgd, d2l.squared_loss, d2l.SGD, d2l.Trainer, "
        "d2l.train_*); the exercise asks you to write it yourself, so it earns nothing.",
        "Write the function with tensor operations in your notebook.  d2l's other helpers "
        "(d2l.try_gpu, d2l.plot, d2l.Timer, d2l.Animator) are fine.",
    ),
    "recorder_tampered": M(
        "The check could not watch your code: the result cannot be trusted",
        "The check records which library and course functions your code runs.  During this "
        "call that record was switched off (sys.setprofile, sys.settrace, torch's function or "
        "dispatch modes, torch._C switches), or a hook of someone else (a debugger, a profiler, "
        "a torch mode left on its stack) was active, so nothing it saw can be trusted.",
        "Remove code that changes sys.setprofile/settrace or torch's modes, switch off any "
        "debugger or profiler, restart the kernel and run the notebook again.",
    ),
    "internal_error": M(
        "The checker itself failed",
        "This is most likely not your fault: the checking code hit an unexpected situation.",
        "Please tell your instructor, with the message below.",
    ),
    # --- cross-correlation ---------------------------------------------------------------------
    "flipped_kernel": M(
        "True convolution instead of cross-correlation",
        "Deep-learning “convolution” layers compute cross-correlation: the kernel is laid on "
        "the window as it is, Y[i, j] = Σ_a Σ_b X[i + a, j + b] · K[a, b].  Flipping the kernel "
        "(upside down and/or left to right) gives the mathematical convolution, a different "
        "result unless the kernel is symmetric.",
        "Check that the kernel's indices run in the same direction as the window's: no "
        "`h - 1 - a`, no torch.flip, no negative steps.",
        "convolution",
    ),
    "not_flipped": M(
        "Cross-correlation where true convolution was asked",
        "True convolution flips the kernel both ways before sliding it: "
        "Y[i, j] = Σ_a Σ_b X[i + a, j + b] · K[h − 1 − a, w − 1 − b].  Your result is the "
        "cross-correlation with the kernel as it is.",
        "Flip the kernel upside down and left to right before (or while) correlating.",
        "convolution",
    ),
    "flipped_one_axis": M(
        "The kernel was flipped along one axis only",
        "True convolution flips the kernel along both axes (rows and columns); a flip along "
        "one axis gives neither convolution nor cross-correlation.",
        "Flip both the rows and the columns of the kernel.",
        "convolution",
    ),
    "transposed_kernel": M(
        "The kernel was transposed instead of used as it is",
        "Transposing swaps K[a, b] with K[b, a]; it is not the same as flipping, and "
        "cross-correlation uses neither.",
        "Index the kernel as K[a, b] with a along the height and b along the width, like the "
        "window X[i + a, j + b].",
        "convolution",
    ),
    "off_by_one": M(
        "Off by one: the kernel fits n − k + 1 times",
        "A window of size k slides over n pixels in n − k + 1 positions: at 0, 1, …, n − k.  "
        "`range(n - k)` misses the last position; `range(n - k + 2)` runs past the edge, where "
        "the window is cut short.",
        "Count the positions by hand for the lesson's 3×3 input and 2×2 kernel: the output is 2×2.",
        "shape",
    ),
    "swapped_hw": M(
        "Height and width swapped",
        "Shapes are (height, width): shape[0] counts rows, shape[1] columns.  Mixing them up "
        "only goes unnoticed when the two are equal.",
        "Use the height of the kernel with the height of the input and the width with the "
        "width; test with a non-square input.",
        "shape",
    ),
    "square_only": M(
        "Works only for square inputs or kernels",
        "Your code gives the right result when the input and kernel are square, but not "
        "otherwise: somewhere a height is used as a width (e.g. X.shape[0] twice, or h where w "
        "belongs).",
        "Give every size its own name (n_h, n_w, k_h, k_w) and check each use; test with a 4×6 "
        "input and a 1×3 kernel.",
        "shape",
    ),
    "hardcoded_example": M(
        "Hard-coded to the lesson's example",
        "Your code reproduces the lesson's example but not other inputs: some number from the "
        "example (6, 8, 7, a fixed kernel or result) is written into the code instead of being "
        "computed from the arguments.",
        "Replace every literal size with one computed from the arguments (X.shape, K.shape).",
    ),
    "padded_output": M(
        "A padded (“same” or “full”) result instead of the valid part",
        "The lesson's cross-correlation keeps only the positions where the kernel lies fully "
        "inside the image: the output is (n_h − k_h + 1) × (n_w − k_w + 1), smaller than the "
        "input.  Padding with zeros is a separate step (later, in d2l §7.3).",
        "Do not pad; let the window positions run from 0 to n − k.",
        "shape",
    ),
    "int_truncation": M(
        "Integer result: the fractions were cut off",
        "An integer tensor cannot hold 2.5, so writing a float into it drops the fraction.  "
        "torch.zeros_like(X) of an integer image, or dtype=int, creates such a tensor.",
        "Create the result with a floating-point dtype (torch.zeros(shape) is float32), or the "
        "promoted dtype of X and K (torch.promote_types).",
    ),
    "transposed_matrix": M(
        "The matrix is transposed",
        "M maps the flattened input (n_h·n_w values) to the flattened output (o_h·o_w "
        "values), so it has one row per output pixel and one column per input pixel: shape "
        "(o_h·o_w, n_h·n_w).",
        "Row r of M holds the weights of output pixel r; check that M @ X.reshape(-1) works.",
        "matmul",
    ),
    "flatten_order": M(
        "Flattened in the wrong order",
        "X.reshape(-1) lists pixels row by row (row-major): pixel (k, l) goes to index "
        "k·n_w + l, and output pixel (i, j) to i·o_w + j.  Column-major numbering "
        "(l·n_h + k) puts the weights in the wrong places.",
        "Compute the column of input pixel (k, l) as k * n_w + l (and the row of (i, j) as "
        "i * o_w + j).",
        "matmul",
    ),
    # --- lesson 01 -----------------------------------------------------------------------------
    "counted_bias": M(
        "The bias was counted as a weight",
        "The exercise counts only the weights that multiply inputs; the bias terms are "
        "separate parameters.",
        "Count only the entries of W (or of the window V).",
        "dense",
    ),
    "dense_count": M(
        "A dense layer has one weight per (hidden unit, input pixel) pair",
        "In a dense layer every hidden unit (i, j) has its own weight for every input pixel "
        "(k, l): W[i, j, k, l].  The count is a product over all four indices.",
        "Count the indices of W and multiply their ranges.",
        "dense",
    ),
    "window_side": M(
        "The window of radius Δ has side 2Δ + 1",
        "Offsets a and b run from −Δ to Δ: that is Δ on each side plus the centre, 2Δ + 1 "
        "values, and the window is 2-D, so it holds (2Δ + 1)² weights.",
        "List the offsets for Δ = 1 by hand: −1, 0, 1.",
        "locality",
    ),
    "weight_index_order": M(
        "The indices of the 4-D weight are in the wrong order",
        "W[i, j, k, l] is indexed by the hidden unit (i, j) first and the input pixel (k, l) "
        "last: H[i, j] = U[i, j] + Σ_k Σ_l W[i, j, k, l] · X[k, l].  The sum runs over the "
        "input indices k, l.",
        "Write the formula next to your code and match each index of W.",
        "dense",
    ),
    "index_mapping": M(
        "Wrong index mapping: k = i − a instead of k = i + a",
        "Hidden unit (i, j) reads the input pixel at offset (a, b) from its centre: "
        "k = i + a, l = j + b, with weight V[a, b].  Using k = i − a reads the window backwards, "
        "which flips the kernel (a convolution).",
        "For Δ = 1, write which input pixel gets V[−1, −1] (stored at V[0, 0]) for unit "
        "(i, j): it is the top-left one.",
        "locality",
    ),
    "missing_bias": M(
        "The bias is missing",
        "The layer's output is the weighted sum plus a bias: without it the layer cannot "
        "shift its output, and the parameter is never trained.",
        "Add the bias to the result (and, in a module, create it as a parameter).",
    ),
    # --- lesson 03 -----------------------------------------------------------------------------
    "bias_shape": M(
        "The bias has the wrong shape",
        "The layer has a single output channel, so it has a single bias shared by every "
        "output pixel: a parameter of shape (1,), added by broadcasting.",
        "Create the bias as nn.Parameter(torch.zeros(1)).",
        "layer",
    ),
    "not_parameter": M(
        "Weight or bias not registered as nn.Parameter",
        "Only tensors wrapped in nn.Parameter (and assigned to self) appear in "
        "layer.parameters().  A plain tensor is invisible to the optimizer and to "
        "layer.zero_grad(), so it is never trained.",
        "Assign self.weight = nn.Parameter(...) and self.bias = nn.Parameter(...).",
        "layer",
    ),
    "parameter_name": M(
        "The parameters are not named weight and bias",
        "The exercise (like nn.Conv2d) names the kernel `weight` and the bias `bias`; code "
        "that trains the layer refers to these names.",
        "Store the kernel as self.weight and the bias as self.bias.",
        "layer",
    ),
    "breaks_autograd": M(
        "The gradient does not reach the parameters (autograd chain broken)",
        "Autograd records the tensor operations that lead to the result.  .item(), float(...), "
        ".tolist(), .numpy(), .detach(), .data and torch.no_grad() step outside that record: "
        "the numbers are right, but the gradient cannot flow back to the kernel.",
        "Keep every step a tensor operation on the inputs: write Y[i, j] = (window * K).sum() "
        "without .item(), and no NumPy round trip.",
        "layer",
    ),
    "used_autograd": M(
        "Autograd used where the gradient should be derived by hand",
        "This exercise asks for dL/dK from the formula, so that you see which operation it is "
        "(a cross-correlation again).  Calling backward() or torch.autograd.grad skips that.",
        "Write L = Σ_ij dY[i, j] · Y[i, j] with Y[i, j] = Σ_ab X[i + a, j + b] K[a, b] and "
        "differentiate with respect to K[a, b].",
        "grad",
    ),
    # --- lesson 04 -----------------------------------------------------------------------------
    "kernel_1d": M(
        "A 1-D tensor is not a kernel",
        "A kernel is a 2-D tensor of shape (height, width).  torch.tensor([a, b]) is 1-D, of "
        "shape (2,); a 2-D tensor is a list of rows: torch.tensor([[a, b]]) is one row of two "
        "entries, shape (1, 2), and torch.tensor([[a], [b]]) one column, shape (2, 1).",
        "Add the missing brackets so the kernel has two dimensions; check K.shape.",
        "detectors",
    ),
    "nonzero_on_flat": M(
        "The kernel responds on flat areas",
        "On a flat (constant) area every window holds the same value c, so the response is "
        "c · (sum of the kernel's entries).  An edge or derivative detector must give 0 there: "
        "its entries must sum to 0.",
        "Add up your kernel's entries; balance the positive and negative weights.",
        "detectors",
    ),
    "blind_to_edges": M(
        "The kernel does not respond to the edges it should detect",
        "A detector compares neighbouring pixels in the direction of change: it needs "
        "positive and negative weights arranged along that direction.",
        "Work out the response by hand on the two pixels on either side of an edge.",
        "detectors",
    ),
    "wrong_orientation": M(
        "The kernel detects the other direction",
        "A kernel that compares pixels side by side (left/right) finds vertical edges, where "
        "the intensity changes along the width; one that compares pixels above and below finds "
        "horizontal edges.  Yours reacts to the wrong one.",
        "Ask: along which axis does the intensity change across the edge you want?  Arrange "
        "the kernel's weights along that axis.",
        "detectors",
    ),
    "both_orientations": M(
        "The kernel also responds to edges of the other orientation",
        "A horizontal-edge detector must stay silent on vertical edges.  Yours responds to "
        "both, so it cannot tell them apart.",
        "Make each column of the kernel sum to zero (then a change from left to right cancels).",
        "detectors",
    ),
    "first_derivative": M(
        "A first derivative instead of the second",
        "A first difference (like [[1, -1]]) responds to a linear ramp; the second derivative "
        "of a ramp is 0.  The second difference compares a pixel with both of its neighbours.",
        "Take the difference of two neighbouring first differences.",
        "detectors",
    ),
    "not_smallest": M(
        "Correct, but not the smallest kernel",
        "The second derivative along the width needs only three neighbouring pixels in one "
        "row; extra rows or columns of zeros make the output smaller for nothing.",
        "Drop the rows and columns your kernel does not need.",
        "detectors",
    ),
    "wrong_scale": M(
        "The derivative has the wrong scale or sign",
        "On the image x² the second derivative along x is 2 everywhere.  Your kernel gives "
        "another constant, so it is the second derivative multiplied by a factor.",
        "Derive the second difference f(x + 1) − 2 f(x) + f(x − 1) and use its coefficients "
        "as they are.",
        "detectors",
    ),
    "not_normalized": M(
        "The blur kernel does not sum to 1",
        "A blur replaces each pixel by a weighted average of its neighbourhood.  Weights that "
        "sum to more (or less) than 1 also brighten (or darken) the image.",
        "Divide the kernel by the sum of its entries.",
        "detectors",
    ),
    "negative_weights": M(
        "Negative weights in a blur kernel",
        "An average uses non-negative weights; negative ones subtract neighbours, which "
        "sharpens or detects edges instead of blurring.",
        "Use only weights ≥ 0.",
        "detectors",
    ),
    "one_hot_kernel": M(
        "All the weight sits on a single pixel",
        "A kernel with one 1 and zeros elsewhere copies (or shifts) the image; nothing is "
        "averaged, so nothing is blurred.",
        "Spread the weight over several pixels of the window.",
        "detectors",
    ),
    "ignores_argument": M(
        "The argument is ignored",
        "Your function returns the same result whatever argument it gets, for example a "
        "kernel of a fixed size.",
        "Use the argument to build the result (e.g. torch.ones(size, size)).",
        "detectors",
    ),
    "too_few_points": M(
        "One pixel too few: order d needs d + 1 pixels",
        "A first derivative compares 2 pixels, a second derivative 3: a difference of order d "
        "combines d + 1 neighbouring samples (like fence posts around d gaps).",
        "Count the pixels used by [[1, -1]] and by [[1, -2, 1]].",
        "detectors",
    ),
    "centred_window": M(
        "A centred window of 2d + 1 pixels is not the smallest",
        "A window reaching d pixels on each side works, but the smallest kernel needs only "
        "d + 1 neighbouring pixels.",
        "Count the pixels used by [[1, -1]] (order 1) and [[1, -2, 1]] (order 2).",
        "detectors",
    ),
    # --- lessons 03-05: the input's gradient, stacking, diagonal edges, integrals, curvature ---
    "input_grad_unflipped": M(
        "The input's gradient needs the kernel flipped",
        "Output Y[i, j] uses pixel X[i + a, j + b] with weight K[a, b].  So pixel X[p, q] "
        "receives dY[p − a, q − b] · K[a, b] from every output it took part in: the offsets are "
        "subtracted, which is a true convolution of dY with K.  Cross-correlating the padded dY "
        "with K as it is adds the offsets instead.",
        "Write the contributions to X[0, 0] and to X[0, 1] for a 1×2 kernel by hand, then flip "
        "K upside down and left to right (torch.flip) before correlating.",
        "grad",
    ),
    "grad_not_full": M(
        "The input's gradient has one entry per input pixel",
        "∂L/∂X has the shape of X: (o_h + k_h − 1, o_w + k_w − 1) for an output of shape "
        "(o_h, o_w).  A valid correlation of dY (or dY itself) is smaller: the border pixels, "
        "which fewer windows touch, are missing.",
        "Pad dY with k_h − 1 rows and k_w − 1 columns of zeros on every side before "
        "correlating (a 'full' convolution), or add K[a, b] · dY into a zero tensor of X's "
        "shape at the offset (a, b).",
        "grad",
    ),
    "rf_no_overlap": M(
        "The windows of consecutive layers overlap",
        "One output pixel of a k×k layer sees k×k pixels of its input.  Each of those pixels "
        "was computed by the layer before from its own window, and neighbouring windows share "
        "all but one row (or column): a second layer therefore adds only k − 1 pixels per "
        "direction, not k.",
        "Draw two stacked 1×2 layers on a row of pixels: one final output depends on 3 pixels, "
        "not 4.",
    ),
    "rf_multiplies": M(
        "The receptive field grows by addition, not multiplication",
        "With stride 1 every layer widens the region an output depends on by k − 1 pixels in "
        "each direction: the receptive field of stacked layers is 1 + Σ (k − 1).  Multiplying "
        "the kernel sizes would need layers that skip pixels (strides, pooling).",
        "Count by hand for two 2×2 layers on a 3×3 input (d2l's example): the single output "
        "depends on all 9 input pixels, not 16.",
    ),
    "rf_last_layer_only": M(
        "Only one layer was counted",
        "The receptive field is measured on the input image, through every layer: the last "
        "kernel says which pixels of the previous feature map matter, and each of those depends "
        "on a window of the map before it.",
        "Follow one output pixel back layer by layer, widening the region by k − 1 each time.",
    ),
    "rf_off_by_one": M(
        "Off by one: a single k×k layer sees k×k pixels",
        "One layer with a k×k kernel gives each output pixel a k×k receptive field; each further "
        "layer adds k − 1.  So the height is 1 + Σ (k_h − 1): the 1 is the output pixel itself.",
        "Check your formula on a single layer and on a 1×1 kernel (which sees exactly one pixel).",
    ),
    "edge_sign": M(
        "The sign of the difference is reversed",
        "K = [[1, −1]] computes x[i, j] − x[i, j + 1]: the pixel minus its right-hand neighbour "
        "(and K transposed, the pixel minus the one below).  Going from black (0) to white (1) "
        "gives −1, from white to black +1.",
        "Take one edge of the image and compute the two products by hand: 1 · (left or upper "
        "pixel) + (−1) · (right or lower pixel).",
        "detectors",
    ),
    "diagonal_no_response": M(
        "A diagonal edge does give a response",
        "A difference kernel is blind only to edges parallel to the direction it compares in: "
        "[[1, −1]] sees nothing on a horizontal edge, where every pixel equals its right "
        "neighbour.  Along a diagonal edge the intensity changes both from left to right and "
        "from top to bottom, so both [[1, −1]] and its transpose respond (the notes claimed "
        "otherwise; they were wrong).",
        "Pick a pixel next to the diagonal and compare it with its right-hand neighbour and "
        "with the pixel below.",
        "detectors",
    ),
    "transposes_confused": M(
        "The two transposes were mixed up",
        "Transposing the image keeps the kernel a row: Xᵀ ⋆ K compares each pixel of Xᵀ with its "
        "right-hand neighbour, and the output has Xᵀ's height, shape (n, n − 1).  Transposing "
        "the kernel makes it a column: X ⋆ Kᵀ compares each pixel of X with the one below, shape "
        "(n − 1, n).  (The two are each other's transpose: X ⋆ Kᵀ = (Xᵀ ⋆ K)ᵀ.)",
        "Work out the shape of each output from the image and kernel shapes first.",
        "detectors",
    ),
    "integral_wrong_axis": M(
        "A column instead of a row",
        "The running sum adds neighbours along the width, x[i, j] + … + x[i, j + m − 1]: "
        "the kernel is one row of m entries, shape (1, m).  A column kernel, shape (m, 1), sums "
        "along the height instead.",
        "Write the kernel as torch.tensor([[w, w, …, w]]) (one pair of brackets per row), or "
        "build it with a shape (1, m).",
        "detectors",
    ),
    "integral_box": M(
        "A square window instead of a row",
        "An m×m kernel of equal weights sums (or averages) over a 2-D window: m rows as well as "
        "m columns.  The running sum along the width uses one row only.",
        "Give the kernel the shape (1, m).",
        "detectors",
    ),
    "integral_window_length": M(
        "One pixel too many or too few in the window",
        "A running sum of m neighbours, x[i, j] + … + x[i, j + m − 1], has m terms, so the kernel "
        "has m entries (positions 0 to m − 1).",
        "Count the terms of the sum for m = 2 by hand.",
        "detectors",
    ),
    "integral_scale": M(
        "The sum where the average was asked, or the other way round",
        "A running sum weighs every pixel of the window by 1 (the discrete integral with pixel "
        "spacing 1); a running average divides it by the number of pixels, m, so that a flat "
        "region keeps its value.",
        "Check what your kernel gives on a constant image of value 1: the sum gives m, the "
        "average 1.",
        "detectors",
    ),
    "lr_limit_half": M(
        "The limit is 2 / λ_max, not 1 / λ_max",
        "A step of gradient descent multiplies the error along an eigenvector of the Hessian by "
        "1 − η λ.  The error still shrinks while this factor lies between −1 and 1, that is up "
        "to η = 2 / λ; at 1 / λ it is 0, the fastest rate, not the limit.",
        "Solve |1 − η λ| < 1 for η.",
        "curvature",
    ),
    "hessian_factor": M(
        "The Hessian of a sum of squares has a factor 2",
        "ℓ(k) = ‖A k − y‖² has gradient 2 Aᵀ(A k − y) and Hessian H = 2 AᵀA: the derivative of "
        "a square brings down a 2.  Using the eigenvalues of AᵀA itself doubles the limit.",
        "Differentiate (a k − y)² twice with respect to k for a single window a.",
        "curvature",
    ),
    "lr_smallest_curvature": M(
        "The steepest direction sets the limit",
        "The error shrinks only if it shrinks along every eigenvector of the Hessian, and the "
        "first to blow up is the one of the largest eigenvalue: η < 2 / λ_max.  The smallest "
        "eigenvalue tells how slow the flattest direction is, not when training diverges.",
        "Take the largest eigenvalue (torch.linalg.eigvalsh returns them in ascending order).",
        "curvature",
    ),
    # --- lesson 05 -----------------------------------------------------------------------------
    "no_zero_grad": M(
        "The gradients are never reset",
        "backward() adds the new gradient to .grad; it does not replace it.  Without zeroing "
        "(K.grad.zero_() or optimizer.zero_grad()) every step uses the sum of all gradients so "
        "far, and training overshoots or diverges.",
        "Reset the gradient once per epoch, after the update (or before backward()).",
        "training",
    ),
    "wrong_direction": M(
        "The step goes uphill",
        "The gradient points to where the loss grows fastest; gradient descent steps the "
        "other way: K ← K − lr · grad.",
        "Check the sign of your update.",
        "training",
    ),
    "diverges": M(
        "The training diverges",
        "The loss grows (or becomes inf/NaN) instead of shrinking: each step overshoots.  With "
        "the sum of squared errors the gradient is large, so the step lr · grad must stay "
        "small.",
        "Use the lr you are given (not your own), subtract lr * K.grad exactly once per epoch, "
        "and reset the gradient every epoch.",
        "training",
    ),
    "mean_instead_of_sum": M(
        "The mean instead of the sum of squared errors",
        "The lesson's loss is the sum of the squared errors.  The mean (as in F.mse_loss) "
        "divides the loss and its gradient by the number of outputs, so every step is that "
        "much smaller.",
        "Use ((Y_hat - Y) ** 2).sum() as the loss.",
        "training",
    ),
    "ignores_lr": M(
        "The learning rate argument is ignored",
        "Your loop trains with a learning rate of its own instead of the lr it is given.",
        "Use the lr argument in the update.",
        "training",
    ),
    "ignores_init": M(
        "Training does not start from K_init",
        "The first loss already differs from the loss of K_init: the loop starts from another "
        "kernel (a random one, or a fixed one).",
        "Start from a copy of K_init: K = K_init.clone().requires_grad_(True).",
        "training",
    ),
    "wrong_epoch_count": M(
        "The wrong number of epochs",
        "`losses` must hold one loss per epoch, recorded before that epoch's step: exactly "
        "num_epochs values.",
        "Loop `for epoch in range(num_epochs)` and append the loss once per epoch.",
        "training",
    ),
    "not_converged": M(
        "Not converged yet",
        "The learned kernel is close to the one that produced Y, but not within the "
        "tolerance: training stopped too early or with too small a step.",
        "Train for more epochs, or with a larger (still stable) learning rate, and watch the "
        "loss approach 0.",
        "training",
    ),
    # --- channels (lesson 01) -----------------------------------------------------------------
    "channel_order": M(
        "The weight's two channel axes are used the wrong way round",
        "W has one row per output channel and one column per input channel: W[d, c] is the "
        "weight from input channel c to output channel d, so output channel d is "
        "Σ_c W[d, c] · X[c] + b[d].  Using W[c, d] only runs when c_i = c_o, and then computes "
        "another layer.",
        "Write the sum for one output channel d next to your code and match each index of W.",
        "channels",
    ),
    "channels_last": M(
        "Channels last instead of first",
        "The course follows PyTorch: an image with channels has shape (channels, height, "
        "width), and so does the result, (c_o, n_h, n_w).  A (n_h, n_w, c_o) result holds the "
        "right numbers in the wrong layout, and the next layer would read it wrongly.",
        "Keep the channel axis in front; if you moved it to the end to compute, move it back "
        "(permute) before returning.",
        "channels",
    ),
    "bias_broadcast": M(
        "The bias was added along the wrong axis",
        "Broadcasting lines shapes up from the right: a bias of shape (c_o,) added to a "
        "(c_o, n_h, n_w) tensor is matched with the width, not with the channels.  When "
        "n_w = c_o it runs without an error and adds b[j] to column j of every channel.",
        "Give the bias a shape that lines up with the channel axis, (c_o, 1, 1), so that b[d] "
        "is added to every pixel of output channel d.",
        "channels",
    ),
    # --- signals (lesson 02) ------------------------------------------------------------------
    "not_full": M(
        "Only part of the full convolution",
        "The full convolution keeps every shift at which the two sequences overlap at all: "
        "(f ∗ g)[i] = Σ_a f[a] · g[i − a] for i = 0, …, n + m − 2, so its length is "
        "n + m − 1.  Keeping only the shifts where one sequence lies wholly inside the other "
        "(the valid part), or as many outputs as the longer input, drops the partial overlaps "
        "at both ends.",
        "Work out the full convolution of [1, 2] and [1, 1, 1] by hand: it has 4 entries.",
        "signals",
    ),
    "order_dependent": M(
        "The result depends on the order of the arguments",
        "Convolution is commutative, f ∗ g = g ∗ f, so convolve1d(f, g) and convolve1d(g, f) "
        "must be equal, whichever sequence is longer.  Yours is right for one order only: "
        "somewhere it assumes that the first (or second) argument is the longer one.",
        "Run your function on a case where the first argument is shorter than the second, and "
        "check every loop bound and slice against both lengths n and m.",
        "signals",
    ),
    # --- speed ---------------------------------------------------------------------------------
    "too_slow": M(
        "Correct, but too slow",
        "A Python loop that visits every output pixel runs thousands of tiny tensor "
        "operations.  Looping over the few kernel offsets instead (or unfolding the windows) "
        "does the same work in a handful of whole-array operations.",
        "Loop over the kernel's entries (a, b) and add K[a, b] times a shifted slice of X.",
        "fast",
    ),
}

TEXT_EN = {
    # headers
    "header.pass": "✔ {exercise}: {confirm}",
    "header.pass_hidden": "✔ {exercise} (hidden tests): {confirm}",
    "header.fail": "✗ {exercise}:",
    "header.fail_hidden": "✗ {exercise} (hidden tests):",
    "verdict.title": "{title}  [{key}]",
    "verdict.why": "Why: {text}",
    "verdict.hint": "Hint: {text}  → {section}",
    "picture.title": "{exercise}: expected, got and their difference",
    "note.printed": "Your code printed {lines} line(s), {chars} characters; the first ones:",
    "note.flood": "Note: your code printed {chars} characters while being checked (only the "
    "beginning is shown).  Printing inside loops slows code down a lot: remove debugging "
    "prints when you are done.",
    # words
    "word.expected": "expected",
    "word.got": "got",
    "word.none": "none",
    "word.response": "response",
    "word.along": "on a ramp along v",
    "word.across": "on a ramp across v",
    "word.epoch": "step",
    "word.difference": "got − expected",
    # large outputs
    "render.cells_differ": "{wrong} of {total} cells differ; the largest difference is at "
    "[{i}, {j}]: expected {expected}, got {got}.",
    "render.window": "Rows {r0}–{r1}, columns {c0}–{c1}:",
    # values that are not shown whole
    "word.scalar": "scalar",
    "render.tensor_shape": "<tensor of shape {shape}>",
    "render.empty": "<empty, shape {shape}>",
    "render.tensor_summary": "<{shape} tensor, {dtype}>",
    "render.tensor_list": "<{kind} of {n} tensors, {shapes}>",
    "render.no_error_message": "<the error message could not be shown>",
    # what was wanted
    "want.function": "a function",
    "want.class": "a class (the Conv2D class itself, not an instance)",
    "want.tensor": "a torch tensor",
    "want.kernel": "a 2-D torch tensor (the kernel)",
    "want.shape_tuple": "a tuple of two ints (height, width)",
    "want.count": "a whole number (int)",
    "want.three_tensors": "a tuple of three 2-D tensors (X ⋆ K, Xᵀ ⋆ K, X ⋆ Kᵀ)",
    "want.number": "a number (a float, or a tensor holding one value)",
    "want.k_losses": "a pair (K, losses)",
    # case labels
    "case.lesson_example": "the lesson's worked example",
    "case.lesson_edge": "the lesson's 6×8 edge image with K = [[1, -1]]",
    "case.one_by_one": "a 1×1 kernel",
    "case.full_kernel": "a kernel as large as the input",
    "case.non_square_input": "a non-square input",
    "case.non_square_kernel": "a non-square kernel",
    "case.tall_input": "an input taller than wide",
    "case.square": "a square input and kernel",
    "case.image_sized": "a larger image",
    "case.large_image": "a large image",
    "case.int_image": "an integer image and a kernel with fractions",
    "case.gradient": "gradients through corr2d (K requires grad)",
    "case.dense_count": "the dense layer's weight count",
    "case.local_count": "the local window's weight count",
    "case.dense_small": "a small input and hidden layer",
    "case.dense_same": "a hidden layer as large as the input",
    "case.dense_other": "hidden layer and input of different shapes",
    "case.delta_zero": "Δ = 0 (a 1×1 window)",
    "case.delta_one": "Δ = 1",
    "case.delta_one_tight": "Δ = 1 with a single row of hidden units",
    "case.delta_two": "Δ = 2",
    "case.grad_small": "a small input",
    "case.grad_wide": "a wide input",
    "case.grad_tall": "a tall input",
    "case.grad_square": "a square input",
    "case.horizontal_edges": "horizontal_edge_image() (horizontal edges)",
    "case.vertical_edges": "edge_image() (vertical edges only)",
    "case.random_horizontal": "an image with horizontal edges",
    "case.random_vertical": "an image with vertical edges only",
    "case.direction": "a direction v",
    "case.quadratic_width": "a quadratic along the width",
    "case.linear_width": "a linear ramp along the width",
    "case.quadratic_height": "a quadratic along the height",
    "case.blur_size": "a blur kernel size",
    "case.derivative_order": "a derivative order",
    "case.lesson_training": "the lesson's training example (6×8 edge image)",
    "case.random_training": "a random training problem",
    "case.recover_lesson": "recovering the lesson's kernel",
    "case.recover_list": "a list of images",
    "case.recover_stack": "a 3-D stack of images",
    "case.speed_pass": "speed against a loop as costly as the lesson's (64×64 image, 3×3 kernel)",
    "case.speed_full": "speed against F.conv2d (256×256 image, 3×3 kernel)",
    "case.grey_image": "the lesson's grey conversion of an integer RGB image",
    "case.one_channel": "one input and one output channel",
    "case.more_channels": "more output channels than input channels",
    "case.fewer_channels": "fewer output channels than input channels",
    "case.square_channels": "as many output channels as input channels",
    "case.bias_trap": "an image as wide as the number of output channels",
    "case.larger_channels": "a larger image with fractional values",
    "case.signal_example": "the lesson's signal x = [0, 1, 2, 3, 4, 5] with k = [1, 2]",
    "case.one_tap": "a kernel of length 1",
    "case.full_length": "a kernel as long as the signal",
    "case.asymmetric_kernel": "a kernel that is not symmetric",
    "case.long_signal": "a longer signal with fractional values",
    "case.int_signal": "an integer signal and a kernel with fractions",
    "case.pair_example": "the lesson's pair f = [1, 2, 3], g = [0, 1, 0.5]",
    "case.single_tap": "a sequence of length 1",
    "case.shorter_first": "a first sequence shorter than the second",
    "case.equal_length": "two sequences of the same length",
    "case.longer_first": "a first sequence longer than the second",
    "case.long_pair": "a longer pair with fractional values",
    "case.int_pair": "integers and a sequence with fractions",
    # confirmations
    "confirm.param-counts": "both weight counts are right on {n} cases.",
    "confirm.dense-layer": "H = U + Σ W·X is right on {n} cases (square and non-square).",
    "confirm.dense-weight": "the 4-D weights are right for Δ = 0, 1, 2 ({n} cases).",
    "confirm.output-shape": "the output shape is right on {n} cases (square, non-square, 1×1 and "
    "full-size kernels).",
    "confirm.corr2d": "cross-correlation is right on {n} cases (the lesson's examples, non-square "
    "inputs and kernels, 1×1 and full-size kernels, an integer image, a larger image), and the "
    "gradient reaches K.",
    "confirm.corr2d-fast": "cross-correlation is right on {n} cases (the lesson's examples, "
    "non-square inputs and kernels, 1×1 and full-size kernels, an integer image, a larger image).",
    "confirm.corr2d-matmul": "M @ X.reshape(-1) matches corr2d on {n} cases.",
    "confirm.convolve2d": "true convolution is right on {n} cases (square and non-square, "
    "integer images).",
    "confirm.conv2d-layer": "weight and bias are parameters of the right shapes, forward is "
    "corr2d + bias and gradients reach both ({n} cases).",
    "confirm.kernel-grad": "dL/dK is right on {n} cases.",
    "confirm.horizontal-kernel": "responds to horizontal edges, not to flat areas or vertical "
    "edges ({n} images).",
    "confirm.directional-kernel": "zero across v and constant along v for {n} directions.",
    "confirm.second-derivative": "the smallest kernel for ∂²/∂x² along the width ({n} images).",
    "confirm.blur-kernel": "non-negative, sums to 1 and spreads its weight ({n} sizes).",
    "confirm.min-kernel-size": "right for {n} derivative orders.",
    "confirm.train-loop": "the losses and the final kernel follow gradient descent exactly "
    "({n} cases).",
    "confirm.recover-kernel": "the kernel was recovered within 5% ({n} case(s)).",
    "confirm.corr2d-speed-pass": "correct and fast enough.",
    "confirm.corr2d-speed-full": "correct and close to F.conv2d.",
    "confirm.conv1x1": "the 1×1 convolution is right on {n} cases (1 to 5 channels in and out, "
    "integer images).",
    "confirm.corr1d": "1-D cross-correlation is right on {n} cases (kernels of length 1 up to "
    "the signal's, integer signals).",
    "confirm.convolve1d": "the full convolution is right on {n} pairs, in both orders of the "
    "arguments.",
    # case descriptions
    "detail.case": "On {label}:",
    "detail.hidden_case": "On a hidden case: {label} ({inputs}).  Hidden cases are random and "
    "differ between students; their values are not shown.",
    "detail.case_call": "On {label}: {call}",
    "detail.case_poly": "On {label}: X = {c} + {b}·{x} + {a}·{x}² ({x} the {x}-index of the pixel)",
    "detail.expected_got_inline": "expected {expected}, got {got}",
    "detail.shapes": "expected shape {expected}, got shape {got}",
    "detail.where": "  at line {line}: {code}",
    # calls and returned objects
    "detail.not_defined": "Not defined: {names}.",
    "detail.probe_error": "Checking your object failed with {type}: {message}",
    "detail.internal_error": "{type}: {message}",
    "detail.timeout": "{symbol} did not return within {limit} s.",
    "detail.raised": "{symbol} raised {type}: {message}",
    "detail.not_implemented": "{symbol} still raises NotImplementedError.",
    "detail.still_none": "{symbol} is still None, the placeholder of the exercise.",
    "detail.window_error": "The error comes from mismatched sizes: probably a loop runs one "
    "step too far, so a window is cut off at the border of the image.",
    "detail.not_callable": "Expected {want} named {symbol}, got a {type}: {value}.  Pass the "
    "function itself (check_xxx({symbol})), not the result of calling it.",
    "detail.returned_none": "{symbol} returned None.",
    "detail.not_a_tensor": "{symbol} returned a {type}, not a torch tensor (and its values are "
    "not the expected ones either).",
    "detail.not_a_tensor_right": "{symbol} returned a {type} with the right values, but not a "
    "torch tensor.",
    "detail.wrong_type": "{symbol} returned a {type} ({value}); expected {want}.",
    "detail.value_type": "{symbol} is a {type} ({value}); expected a 2-D torch tensor.",
    "detail.unreadable": "{symbol} returned a {type} whose values cannot be read.",
    "detail.wrong_device": "{symbol} returned a tensor on device '{device}', the inputs were on "
    "'cpu'.",
    "detail.library_conv": "{symbol} called {names}.",
    "detail.conv_base": "{symbol} is built on {names}: this exercise asks for your own layer "
    "(F.conv2d or the lesson's torch_corr2d inside forward is fine).",
    "detail.conv_part": "{symbol} holds or runs {names}: this exercise asks for your own layer "
    "(F.conv2d or the lesson's torch_corr2d inside forward is fine).",
    "detail.shipped_code": "{symbol} ran {names}.",
    "detail.shipped_base": "{symbol} is built on {names}.",
    "detail.recorder_tampered": "While {symbol} ran: {reasons}.",
    # what the recorder saw (convcourse.checks.recorder writes these in English, the judge shows
    # them in the student's language: see diagnose.reason_text)
    "reason.called": "{name} was called",
    "reason.mode_stack": "torch's mode stack was changed ({name})",
    "reason.raw_thread": "a raw thread was started ({name})",
    "reason.tensor_subclass": "the result is a tensor subclass ({name}) whose code runs when the "
    "check reads it, after the recording",
    "reason.trace_active": "a trace function (sys.settrace: a debugger?) was active",
    "reason.profile_active": "a profile function (sys.setprofile) was active",
    "reason.thread_hooks": "a trace or profile function for new threads was set",
    "reason.function_mode": "a torch function mode ({name}) was on its stack",
    "reason.dispatch_mode": "a torch dispatch mode ({name}) was on its stack",
    "reason.function_off": "torch function handling was switched off",
    "reason.dispatch_off": "Python dispatch was switched off",
    "reason.profile_removed": "the recorder's profile function was removed",
    "reason.function_modes_changed": "the torch function modes were changed",
    "reason.dispatch_modes_changed": "the torch dispatch modes were changed",
    "word.aten_convolution": "PyTorch's convolution operator (aten.convolution)",
    "word.reading_grad": "reading .grad",
    "detail.rule": "The rule: {rule}.",
    "detail.modified_input": "{symbol} changed its input(s): {names}.",
    "detail.autograd_causes": "Seen in your code: {names}.",
    # shapes
    "detail.extra_dims": "The result has shape {got}: the right values with extra dimensions "
    "of size 1; expected {want}.",
    "detail.shape_minus": "Your output has shape {got}, one row or column too few; expected "
    "{want} = (n_h − k_h + 1, n_w − k_w + 1).",
    "detail.shape_plus": "Your output has shape {got}, one row or column too many; expected "
    "{want} = (n_h − k_h + 1, n_w − k_w + 1).",
    "detail.shape_swapped": "Your output has shape {got}: height and width are swapped; expected "
    "{want}.",
    "detail.shape_square": "Your output has shape {got}, as if the input or kernel were square; "
    "expected {want}.",
    "detail.shape_padded": "Your output has shape {got}, a padded size; expected {want}.",
    "detail.shape_hardcoded": "Your output has shape {got}, the size of the lesson's example, "
    "whatever the input; expected {want}.",
    "detail.shape_other": "Shape {got}; expected {want}.",
    # values
    "detail.flipped_both": "Your result equals the true convolution: the kernel flipped upside "
    "down and left to right.",
    "detail.flipped_rows": "Your result equals the cross-correlation with the kernel flipped "
    "upside down.",
    "detail.flipped_cols": "Your result equals the cross-correlation with the kernel flipped "
    "left to right.",
    "detail.not_flipped": "Your result equals the cross-correlation with the kernel as it is.",
    "detail.flip_one_rows": "Your result equals the kernel flipped upside down only.",
    "detail.flip_one_cols": "Your result equals the kernel flipped left to right only.",
    "detail.transposed_kernel": "Your result equals the cross-correlation with K transposed (K.T).",
    "detail.values_transposed": "Your result is the expected one transposed: rows and columns "
    "were exchanged.",
    "detail.int_truncation": "Your result has dtype {dtype} and equals the expected values with "
    "their fractions cut off.",
    "detail.last_zero": "Your result is right except that its last row or column was never "
    "filled: the loop stops one position early.",
    "detail.lesson_output": "Your result is the lesson's answer [[19, 25], [37, 43]], whatever "
    "the input.",
    "detail.wrong_values": "The shape is right but values differ.",
    "detail.backward_error": "Backpropagating through your result failed with {type}: {message}",
    "detail.no_grad_fn": "{symbol} returned a tensor that is not connected to K (no grad_fn), so "
    "K.grad stays None after backward().",
    "detail.wrong_gradient": "The gradient that reached K through {symbol} is wrong:",
    # lesson 01
    "detail.count_bias": "Your count includes one bias per hidden unit (or per window).",
    "detail.count_added": "Your count adds the input and hidden sizes instead of multiplying them.",
    "detail.count_inputs_only": "Your count is the number of input pixels: that is the weights "
    "of one hidden unit only.",
    "detail.count_hidden_only": "Your count is the number of hidden units: one weight per unit, "
    "but each unit has one weight per input pixel.",
    "detail.count_squared": "Your count squares the input size; the hidden layer has its own "
    "size m_h × m_w.",
    "detail.window_2delta": "Your count is (2Δ)²: the centre was left out.",
    "detail.window_delta": "Your count is Δ²: the window reaches Δ on both sides.",
    "detail.window_delta_plus_one": "Your count is (Δ + 1)²: the window reaches Δ on both sides.",
    "detail.window_not_squared": "Your count is 2Δ + 1: that is one side of the 2-D window.",
    "detail.weight_shape": "W has shape {shape} (values not shown).",
    "detail.summed_hidden": "Your result has the input's shape: the sum ran over the hidden "
    "indices i, j instead of the input indices k, l.",
    "detail.bias_ignored": "Your result equals the weighted sum without U.",
    "detail.index_order_hidden": "Your result uses W[k, l, i, j]: hidden and input indices are "
    "exchanged.",
    "detail.index_order_input": "Your result uses W[i, j, l, k]: the input's row and column "
    "indices are exchanged.",
    "detail.dense_values": "Compare H[0, 0] with U[0, 0] + Σ_k Σ_l W[0, 0, k, l] · X[k, l].",
    "detail.weight_all_units": "You kept a hidden unit for every input pixel, including those "
    "whose window leaves the image; only units with the whole window inside are kept "
    "(m = n − 2Δ).",
    "detail.weight_axes": "The hidden-unit axes and the input axes are exchanged: W must be "
    "(m_h, m_w, n_h, n_w).",
    "detail.weight_units_off": "The number of hidden units is off by one: there are n − 2Δ "
    "positions whose window lies inside the image.",
    "detail.weight_unit": "The weights of hidden unit ({i}, {j}), W[{i}, {j}] over the input:",
    "detail.index_minus": "Your weights equal those of the flipped kernel: the input pixel was "
    "taken at k = i − a instead of k = i + a.",
    "detail.weight_values": "Unit (i, j) is centred on input pixel (i + Δ, j + Δ) and gives "
    "weight V[a + Δ, b + Δ] to the pixel at offset (a, b); all other weights are 0.",
    # kernel matrix
    "detail.matrix_transposed": "Your M has shape (n_h·n_w, o_h·o_w), the transpose of the "
    "expected (o_h·o_w, n_h·n_w).",
    "detail.matrix_4d": "Your M is 4-D; flatten it to (o_h·o_w, n_h·n_w).",
    "detail.matrix_rows": "Your M has {rows} rows; there is one per output pixel: {want}.",
    "detail.flatten_columns": "The columns follow the input pixels in column-major order "
    "(l·n_h + k).",
    "detail.flatten_rows": "The rows follow the output pixels in column-major order (j·o_h + i).",
    "detail.flatten_both": "Rows and columns both follow column-major order.",
    "detail.matrix_values": "Row i·o_w + j of M must hold K[a, b] in the column of input pixel "
    "(i + a, j + b) and 0 elsewhere.",
    # lesson 03
    "detail.layer_init": "Conv2D(kernel_size={kernel_size})",
    "detail.not_module": "Calling Conv2D(kernel_size) gave a {type}, not an nn.Module.",
    "detail.no_weight": "The layer has no tensor attribute `weight`.  Its parameters: "
    "{parameters}.",
    "detail.no_bias_attribute": "The layer has no tensor attribute `bias`.  Its parameters: "
    "{parameters}.",
    "detail.not_registered": "self.{name} is a plain tensor, not in layer.parameters() "
    "(found: {parameters}).",
    "detail.param_shape": "self.{name} has shape {got}; expected {want}.",
    "detail.forward_no_bias": "The output equals corr2d(X, weight) without the bias.",
    "detail.no_requires_grad": "self.{name} does not require grad, so it gets no gradient.",
    "detail.no_param_grad": "After backward(), self.{name}.grad is still None.",
    "detail.wrong_param_grad": "The gradient of self.{name} is wrong:",
    "detail.used_autograd": "{symbol} used autograd: {names}.",
    # lesson 04
    "detail.kernel_1d": "{symbol} has shape {shape}: a 1-D tensor.",
    "detail.kernel_not_2d": "{symbol} has shape {shape}; a kernel is 2-D.",
    "detail.kernel_too_big": "{symbol} has shape {shape}, larger than the {image} image.",
    "detail.flat_response": "The entries of the kernel sum to {total}, so every flat window "
    "gives a nonzero response.",
    "detail.misses_horizontal": "Some horizontal edge gets no response at all.",
    "detail.responds_vertical": "This image has only vertical edges, yet the response is nonzero.",
    "detail.blind_ramps": "The response is 0 on both ramps: the kernel does not see any "
    "change of intensity.",
    "detail.across_v": "The response is 0 along v but nonzero across it: the kernel detects "
    "changes perpendicular to v (edges that run along v).",
    "detail.v_swapped": "The kernel behaves as if v were (v2, v1): v1 is the change along the "
    "height (rows, i), v2 along the width (columns, j).",
    "detail.across_nonzero": "The response across v must be 0 everywhere.",
    "detail.want_constant": "Expected the constant response {value} everywhere.",
    "detail.not_smallest": "Your kernel has shape {shape}; the smallest one is 1×3.",
    "detail.first_derivative": "The kernel responds to a linear ramp along the width, whose "
    "second derivative is 0.",
    "detail.second_along_height": "The kernel takes the second derivative along the height "
    "(rows) instead of the width (columns).",
    "detail.second_mixed": "The kernel also responds to changes along the height.",
    "detail.second_scale": "On x² your kernel gives {value} instead of 2.",
    "detail.kernel_sum": "The entries sum to {total}.",
    # lesson 05
    "detail.losses_type": "The losses are a {type}; expected a list of floats (use loss.item()).",
    "detail.epoch_count": "{got} losses for num_epochs = {want}.",
    "detail.loss_after_step": "Your losses are the losses after each step; record the loss "
    "before the update.",
    "detail.final_kernel": "The losses are right but the returned kernel is not the trained one.",
    "detail.recover_error": "The largest difference is {error}; accepted up to {tol}.",
    # lessons 03-05: the input's gradient, stacking, diagonal edges, integrals, curvature
    "case.rf_d2l": "d2l's example: two 2×2 layers",
    "case.rf_single": "a single layer",
    "case.rf_mixed": "a row kernel, then a column kernel",
    "case.rf_square_stack": "a stack of square kernels",
    "case.rf_rectangular": "a stack of rectangular kernels",
    "case.rf_deep": "a deep stack",
    "case.diagonal_image": "the n×n diagonal image",
    "case.running_sum": "a running sum",
    "case.running_average": "a running average",
    "case.lr_lesson": "the lesson's 6×8 image with a 1×2 kernel",
    "case.positive_image": "an image with pixels between 0 and 1",
    "case.signed_image": "an image with positive and negative pixels",
    "case.int_pixels": "an image of small whole numbers",
    "confirm.input-grad": "dL/dX is right on {n} cases.",
    "confirm.receptive-field": "the receptive field is right for {n} stacks of layers.",
    "confirm.diagonal-edges": "all three responses are right for {n} image sizes.",
    "confirm.integral-kernel": "running sums and averages are right ({n} cases).",
    "confirm.lr-limit": "the largest stable learning rate is right on {n} images.",
    "detail.grad_unflipped": "Your result equals the padded dY cross-correlated with K as it is "
    "(not flipped).",
    "detail.input_grad_values": "Entry (p, q) of dL/dX is Σ_a Σ_b K[a, b] · dY[p − a, q − b], "
    "with dY taken as 0 outside its range.",
    "detail.rf_stack": "{layers} layer(s), kernels {stack}, stride 1, no padding.",
    "detail.rf_sum": "Your answer is the sum of the kernel sizes.",
    "detail.rf_product": "Your answer is the product of the kernel sizes.",
    "detail.rf_last": "Your answer is the size of the last kernel.",
    "detail.rf_largest": "Your answer is the size of the largest kernel.",
    "detail.rf_minus_one": "Your answer is one pixel smaller in each direction.",
    "detail.rf_plus_one": "Your answer is one pixel larger in each direction.",
    "detail.rf_swapped": "Your answer has height and width swapped.",
    "detail.transposes_swapped": "Your second result is X ⋆ Kᵀ and your third Xᵀ ⋆ K: they "
    "are in each other's place.",
    "detail.diagonal_part": "In {part} (item {index} of the tuple):",
    "detail.diagonal_values": "The nonzero entries are not where the edge is: find, for each "
    "row of the output, the one window that straddles the diagonal.",
    "detail.integral_sum_not_mean": "The response is the running sum; the average was asked.",
    "detail.integral_mean_not_sum": "The response is the running average; the sum was asked.",
    "detail.integral_values": "Each response must be x[i, j] + … + x[i, j + m − 1] (divided by "
    "m for the average): every pixel of the window counts once, with the same weight.",
    "detail.lr_limit": "Expected 2 / λ_max = {expected} (λ_max = {top}, the largest eigenvalue "
    "of the loss's Hessian), got {got}.",
    # channels (lesson 01)
    "detail.channel_shapes": "X has shape {x} (c_i = {c_i}), W {w}, b {b}: the result must be "
    "{want} = (c_o, n_h, n_w).",
    "detail.output_channel": "Output channel {d} (the first one that differs):",
    "detail.channel_transposed": "Your result equals Σ_c W[c, d] · X[c] + b[d]: W was read "
    "with its two axes exchanged.",
    "detail.channels_last_values": "Your result has shape {got}: the right values, with the "
    "channel axis last.",
    "detail.channels_last_shape": "Your result has shape {got}: channels last; expected {want}.",
    "detail.dropped_channel_axis": "Your result has shape {got}: the channel axis (of size 1 "
    "here) is missing; expected {want}.",
    "detail.bias_width": "Your result equals the 1×1 convolution with b[j] added to column j "
    "instead of b[d] to channel d.",
    "detail.bias_mismatch": "The sizes that do not match are probably the bias (c_o entries) "
    "and the last axis of the output (the width).",
    "detail.conv1x1_values": "Output channel d at pixel (i, j) is b[d] + Σ_c W[d, c] · X[c, i, j]: "
    "compare one pixel by hand.",
    # signals (lesson 02)
    "detail.call_swapped": "The call with the arguments swapped, convolve1d(g, f):",
    "detail.length_minus": "Your result has length {got}, one too few; expected {want}.",
    "detail.length_plus": "Your result has length {got}, one too many; expected {want}.",
    "detail.length_same": "Your result has length {got}, as long as the signal: a padded "
    "(“same”) output; expected the valid {want} = n − m + 1.",
    "detail.length_full": "Your result has length {got} = n + m − 1, the full (padded) "
    "output; expected the valid {want} = n − m + 1.",
    "detail.length_other": "Your result has shape {got}; expected a 1-D tensor of length {want}.",
    "detail.length_extra_dims": "Your result has shape {got}: the right values with extra "
    "dimensions of size 1; expected a 1-D tensor of length {want}.",
    "detail.flipped_1d": "Your result equals the correlation with the kernel reversed, "
    "k[m − 1 − a]: a true convolution.",
    "detail.signal_last_zero": "Your result is right except that its last entry was never "
    "filled: the loop stops one position early.",
    "detail.signal_lesson_output": "Your result is the lesson's answer [2, 5, 8, 11, 14], "
    "whatever the input.",
    "detail.corr1d_values": "y[i] = Σ_a x[i + a] · k[a] for a = 0, …, m − 1: compute y[0] by hand.",
    "detail.full_valid": "Your result has length {got}, the valid part |n − m| + 1; the full "
    "convolution has length {want} = n + m − 1.",
    "detail.full_same": "Your result has length {got}, the length of one input; the full "
    "convolution has length {want} = n + m − 1.",
    "detail.full_minus": "Your result has length {got}, one too few: the last overlap, f[n − 1] · "
    "g[m − 1], is missing; expected {want} = n + m − 1.",
    "detail.full_plus": "Your result has length {got}, one too many; expected {want} = n + m − 1.",
    "detail.full_correlation": "Your result equals the full cross-correlation: one of the two "
    "sequences was not reversed.",
    "detail.full_last_zero": "Your result is right except that its last entry is 0: the loop "
    "over i stops one step early.",
    "detail.full_lesson_output": "Your result is the lesson's answer [0, 1, 2.5, 4, 1.5], "
    "whatever the input.",
    "detail.full_values": "(f ∗ g)[i] = Σ_a f[a] · g[i − a], over every a with 0 ≤ a < n and "
    "0 ≤ i − a < m: compute entry 1 by hand.",
    "detail.only_one_order": "convolve1d({first}, {second}) is right, convolve1d({second}, "
    "{first}) is not:",
    # predictions (never graded)
    "prediction.missing": "✎ No prediction yet: {asks}  Replace None in the cell above, run it, "
    "then run this cell.",
    "prediction.right": "✔ Right: {value}.  The next cell shows why.",
    "prediction.wrong": "✗ Not quite: you predicted {value}.  {hint}  Run the next cell to see.",
    "prediction.unreadable": "? Your prediction, {value}, is not {kind}: {asks}",
    "prediction.kind.number": "a number",
    "prediction.kind.position": "a pair (row, column)",
    "prediction.l01-invariance-factor.asks": "by how many times does translation invariance "
    "cut the 10¹² weights of the megapixel layer? (a number, such as 1e3)",
    "prediction.l01-invariance-factor.hint": "Translation invariance leaves one weight per "
    "offset (a, b), and each offset takes 2·1000 − 1 values; divide 10¹² by their number.",
    "prediction.l01-shifted-peak.asks": "where does the response to the shifted image peak? "
    "(a pair (row, column))",
    "prediction.l01-shifted-peak.hint": "The same kernel is used at every position, so the "
    "response moves with the pattern.",
    "prediction.l02-nonzeros.asks": "how many of the 4 × 16 = 64 entries of M are not zero? "
    "(a number)",
    "prediction.l02-nonzeros.hint": "Count per row: one row per output position, and each "
    "holds every entry of the 3×3 kernel once.",
    "prediction.l02-impulse.asks": "what is Y[0, 0], the top-left output? (a number)",
    "prediction.l02-impulse.hint": "Y[0, 0] = Σ_a Σ_b K[a, b] · X[a, b], and X is 0 except at "
    "(2, 2): which entry of K lands on the bright pixel?",
    "prediction.l03-grad-entry.asks": "what is dL/dK[0, 0] for L = sum(Y) on the band image? "
    "(a number)",
    "prediction.l03-grad-entry.hint": "K[0, 0] multiplies the pixel at the top-left of every "
    "window, so dL/dK[0, 0] adds up X over the columns the left box covers: add up the values "
    "in the box.",
    "prediction.l04-transposed-nonzeros.asks": "how many entries of torch_corr2d(X_t, K) are not "
    "zero? (a number)",
    "prediction.l04-transposed-nonzeros.hint": "K compares each pixel with its right-hand "
    "neighbour; along a horizontal band, how do two such neighbours differ?",
    "prediction.l05-lr-limit.asks": "what is the largest learning rate at which gradient descent "
    "still converges on the 6×8 problem? (a number, such as 0.05)",
    "prediction.l05-lr-limit.hint": "AᵀA has the eigenvectors (1, 1) and (1, −1): multiply it by "
    "each to find its eigenvalues, double them for H = 2 AᵀA, and take 2 / λ_max.",
    # speed
    "detail.loop_extrapolated": "a double loop as costly as the lesson's corr2d (one "
    "window-sized addition and one sum per output cell, not a cross-correlation; timed on "
    "{rows} of {total} output rows and scaled up)",
    "detail.speed_pass": "At {n}×{n} with a 3×3 kernel your corr2d_fast takes {student}, "
    "{how} {baseline}: yours is {ratio}× faster (needed ≥ {need}×).",
    "detail.speed_full": "At {n}×{n} with a 3×3 kernel your corr2d_fast takes {student}, "
    "F.conv2d {baseline}: yours takes {ratio}× its time (needed ≤ {need}×).",
    "detail.speed_timeout": "Timing did not finish within {limit} s at {n}×{n}.",
}

# The rules as the lessons state them (convcourse.checks.rules), for the messages.
TEXT_EN.update({"rule." + name: text for name, text in STATEMENTS.items()})


def _translation(sections: dict, misconceptions: dict, text: dict) -> Catalogue:
    """A catalogue from a translation module's tables: misconceptions as (title, explanation,
    hint), each in the section of its English original (section ids are not translated)."""
    return Catalogue(
        dict(sections),
        {
            key: Misconception(*texts, MISCONCEPTIONS_EN[key].section)
            for key, texts in misconceptions.items()
            if key in MISCONCEPTIONS_EN
        },
        dict(text),
    )


CATALOGUES: dict[str, Catalogue] = {
    "en": Catalogue(SECTIONS_EN, MISCONCEPTIONS_EN, TEXT_EN),
    "zh": _translation(messages_zh.SECTIONS_ZH, messages_zh.MISCONCEPTIONS_ZH, messages_zh.TEXT_ZH),
}

#: Every misconception id a Verdict may name.
MISCONCEPTION_KEYS = frozenset(MISCONCEPTIONS_EN)

#: The environment variable that chooses the language when set_language was not called: set in
#: a kernel's environment (its kernelspec) or the grader's, it holds for every notebook there.
ENV_LANGUAGE = "CONVCOURSE_LANG"

_chosen: str | None = None  # set_language's choice; None: follow ENV_LANGUAGE
# using_language's choice, per thread (the grader judges submissions of both editions at once,
# one per worker thread); None: set_language's or the environment's.
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "convcourse_lang", default=None
)


@contextlib.contextmanager
def using_language(code: str):
    """Messages in language ``code`` inside the ``with`` block, in this thread only."""
    if code not in CATALOGUES:
        raise ValueError(f"no catalogue for language {code!r}; available: {sorted(CATALOGUES)}")
    token = _scoped.set(code)
    try:
        yield
    finally:
        _scoped.reset(token)


def set_language(code: str | None) -> None:
    """Show messages in language ``code`` (one of ``CATALOGUES``), whatever ``CONVCOURSE_LANG``
    says; ``None`` goes back to following ``CONVCOURSE_LANG`` (English when it is unset)."""
    global _chosen
    if code is not None and code not in CATALOGUES:
        raise ValueError(f"no catalogue for language {code!r}; available: {sorted(CATALOGUES)}")
    _chosen = code


def language() -> str:
    """The language of the messages: set_language's choice, else ``$CONVCOURSE_LANG``, else "en".

    Read at every message, so a variable set after the import counts; an unknown value raises
    ValueError here, when a message is first needed (an empty one counts as unset).
    """
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _chosen is not None:
        return _chosen
    code = os.environ.get(ENV_LANGUAGE, "")
    if not code:
        return "en"
    if code not in CATALOGUES:
        choices = " or ".join(repr(c) for c in sorted(CATALOGUES))
        raise ValueError(
            f"environment variable {ENV_LANGUAGE}={code!r} names no language of the checks' "
            f"messages; set it to {choices}, or unset it (English)"
        )
    return code


def _catalogue() -> Catalogue:
    return CATALOGUES[language()]


def t(key: str, /, **params) -> str:
    """The text ``key`` of the current language, filled with ``params``."""
    template = _catalogue().text.get(key)
    if template is None:
        template = CATALOGUES["en"].text[key]
    return template.format(**params)


def misconception(key: str) -> Misconception:
    found = _catalogue().misconceptions.get(key)
    return found if found is not None else CATALOGUES["en"].misconceptions[key]


def section(key: str | None) -> str:
    if key is None:
        return ""
    return _catalogue().sections.get(key, CATALOGUES["en"].sections.get(key, key))


def compose(key: str, detail: str, exercise_section: str | None = None) -> str:
    """The full message of a misconception: title, case detail, why, and a hint."""
    m = misconception(key)
    lines = [t("verdict.title", title=m.title, key=key)]
    if detail:
        lines += ["", detail.rstrip()]
    lines += ["", t("verdict.why", text=m.explanation)]
    where = section(m.section or exercise_section)
    lines.append(t("verdict.hint", text=m.hint, section=where or "—"))
    return "\n".join(lines)
