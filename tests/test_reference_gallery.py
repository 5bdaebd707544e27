"""Kernels, toy images, the photograph and the figures."""

import matplotlib.pyplot as plt
import pytest
import torch

from convcourse import images, kernels, plots
from convcourse.instructor.reference.corr import corr2d_fast
from convcourse.instructor.reference.layers import local_mask


def test_gallery_has_the_named_kernels_and_returns_fresh_copies():
    gallery = kernels.kernel_gallery()
    assert list(gallery) == list(kernels.KERNEL_NAMES)
    for name in [
        "edge_vertical",
        "sobel_x",
        "sobel_y",
        "laplacian",
        "sharpen",
        "box_blur",
        "gaussian_blur",
        "identity",
    ]:
        assert name in gallery
    assert torch.equal(gallery["edge_vertical"], torch.tensor([[1.0, -1.0]]))
    gallery["identity"][1, 1] = 5.0
    assert kernels.kernel("identity")[1, 1] == 1.0
    with pytest.raises(KeyError, match="unknown kernel 'nope'"):
        kernels.kernel("nope")


def test_kernels_do_what_their_names_say():
    X = torch.rand(10, 12)
    g = kernels.kernel_gallery()
    torch.testing.assert_close(corr2d_fast(X, g["identity"]), X[1:-1, 1:-1])
    for blur in ("box_blur", "gaussian_blur"):
        assert abs(float(g[blur].sum()) - 1.0) < 1e-6 and bool((g[blur] >= 0).all())
        # A blur leaves a constant image unchanged.
        torch.testing.assert_close(
            corr2d_fast(torch.full((9, 9), 0.3), g[blur]),
            torch.full((9 - g[blur].shape[0] + 1,) * 2, 0.3),
        )
    for detector in ("edge_vertical", "sobel_x", "sobel_y", "laplacian"):
        assert abs(float(g[detector].sum())) < 1e-6  # flat regions give zero
    # Sobel x responds to a left-right ramp, Sobel y does not.
    ramp = torch.arange(8.0).repeat(8, 1)
    assert bool((corr2d_fast(ramp, g["sobel_x"]) != 0).all())
    assert not bool(corr2d_fast(ramp, g["sobel_y"]).any())
    # The Gaussian blur is a fixed 5x5 tensor, symmetric, largest in the centre.
    G = g["gaussian_blur"]
    assert G.shape == (5, 5) and torch.equal(G, G.T) and torch.equal(G, torch.flip(G, (0, 1)))
    assert int(torch.argmax(G)) == 12


def test_gallery_holds_no_answer_of_lesson_04():
    """The horizontal-edge kernel (exercise 4.1) and a blur of any size (4.4) are exercises."""
    gallery = kernels.kernel_gallery()
    assert "edge_horizontal" not in gallery
    for K in gallery.values():  # no 2x1 vertical difference [[1], [-1]] under another name
        assert not (K.shape == (2, 1) and abs(float(K.sum())) < 1e-9)
    assert not hasattr(kernels, "gaussian_kernel")
    assert "gaussian_kernel" not in kernels.__all__


def test_sliding_window_mask_matches_the_reference_layer():
    for shape, delta in (((7, 7), 1), ((5, 8), 2), ((3, 4), 0), ((6, 5), 1)):
        assert torch.equal(plots._local_mask(shape, delta), local_mask(shape, delta))
    with pytest.raises(ValueError, match="no pixel with a full"):
        plots._local_mask((3, 3), 2)


def test_toy_images():
    X = images.edge_image()
    assert X.shape == (6, 8) and X.dtype == torch.float32
    assert (
        bool((X[:, 2:6] == 0).all()) and bool((X[:, :2] == 1).all()) and bool((X[:, 6:] == 1).all())
    )
    assert torch.equal(images.horizontal_edge_image(), X.T)
    D = images.diagonal_edge_image(5)
    assert D.shape == (5, 5) and float(D.sum()) == 10  # strictly above the diagonal
    C = images.checkerboard(4, 2)
    assert torch.equal(C, torch.tensor([[0.0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]))


def test_photograph_is_a_real_grayscale_image_from_an_installed_package():
    P = images.photograph(None)
    assert P.shape == (600, 512) and P.dtype == torch.float32
    assert 0.0 <= float(P.min()) and float(P.max()) <= 1.0
    # A photograph, not a synthetic pattern: many distinct grey levels and real texture.
    assert len(torch.unique((P * 255).round())) > 150
    assert float(P.std()) > 0.1
    small = images.photograph(64)
    assert min(small.shape) == 64


@pytest.mark.parametrize(
    "make",
    [
        lambda: plots.plot_sliding_window(
            torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]]), 1, 0
        ),
        lambda: plots.plot_weight_pattern((7, 7), 1),
        lambda: plots.plot_kernel_effect(images.edge_image(), torch.tensor([[1.0, -1.0]])),
        lambda: plots.plot_kernel_gallery(images.photograph(48), kernels.kernel_gallery()),
    ],
)
def test_figures_draw(make):
    fig = make()
    try:
        fig.canvas.draw()
        assert fig.axes and all(ax.get_title() or not ax.get_visible() for ax in fig.axes)
    finally:
        plt.close(fig)


def test_sliding_window_figure_states_the_arithmetic():
    fig = plots.plot_sliding_window(
        torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]]), 0, 0
    )
    try:
        assert fig._suptitle.get_text() == "Y[0, 0] = 0·0 + 1·1 + 3·2 + 4·3 = 19"
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="outside the 2x2 output"):
        plots.plot_sliding_window(torch.zeros(3, 3), torch.zeros(2, 2), 2, 0)
