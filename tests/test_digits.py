"""Draw-a-digit preprocessing: a real MNIST digit drawn large comes back as itself; every step is kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.digits import center_of_mass, ink_of, preprocess
from core.errors import UserError


def canvas_from(image28: np.ndarray, side: int = 280) -> np.ndarray:
    """A 28×28 uint8 digit blown up to a white-on-black RGBA canvas, as the browser would send it."""
    big = F.interpolate(torch.from_numpy(image28).float()[None, None], size=(side, side), mode="bilinear")[
        0, 0
    ]
    gray = big.clamp(0, 255).round().byte().numpy()
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def test_a_stroke_is_cropped_scaled_to_20_and_centred_by_mass():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[40:220, 60:110, :] = 255  # a thick vertical bar, off centre
    steps = preprocess(rgba)
    assert steps.box == (40, 60, 220, 110)
    assert steps.cropped.shape == (180, 50)
    rows = np.flatnonzero(steps.scaled.any(axis=1))
    assert steps.scaled.shape == (20, 20) and len(rows) == 20  # the longer side fills the box
    assert steps.digit.shape == (28, 28) and steps.digit.dtype == np.uint8
    cy, cx = center_of_mass(steps.digit)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    expected = (torch.from_numpy(steps.digit).float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(steps.normalized, expected[None, None])


def test_transparent_canvas_pixels_are_paper():
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[..., :3] = 255  # white but fully transparent: no ink
    rgba[30:70, 45:55, 3] = 255
    assert ink_of(rgba).sum() == 40 * 10 * 255


def test_empty_canvas_is_a_sentence():
    with pytest.raises(UserError, match="empty") as err:
        preprocess(np.zeros((280, 280, 4), np.uint8))
    assert "画布" in err.value.zh


def test_real_mnist_digits_survive_the_round_trip(mnist):
    """MNIST digits were made by this procedure, so redrawing one large must give it back closely."""
    for i in range(20):
        original = mnist.test_x[i].numpy().astype(float)
        again = preprocess(canvas_from(mnist.test_x[i].numpy())).digit.astype(float)
        # rounding the centre of mass may move a digit by one pixel: compare at the best such shift
        best = max(
            np.corrcoef(np.roll(again, (dy, dx), axis=(0, 1)).ravel(), original.ravel())[0, 1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        plain = np.corrcoef(again.ravel(), original.ravel())[0, 1]
        assert best > 0.85, (i, best)  # two different digits correlate ~0.3–0.5
        assert plain > 0.75, (i, plain)
        assert abs(again.sum() / original.sum() - 1) < 0.25  # about the same amount of ink


def test_wrong_shapes_are_sentences():
    with pytest.raises(UserError, match="RGBA"):
        preprocess(np.zeros((28, 28), np.uint8))


def test_the_crop_is_shown_padded_to_a_centred_square():
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[50:230, 130:150] = 255  # a thin "1": 180 tall, 20 wide
    steps = preprocess(rgba)
    square = steps.square
    assert steps.cropped.shape == (180, 20) and square.shape == (180, 180)
    np.testing.assert_array_equal(square[:, 80:100], steps.cropped)  # (180 - 20) / 2 = 80 columns each side
    assert (square[:, :80] == 40).all() and (square[:, 100:] == 40).all()
