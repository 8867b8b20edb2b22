"""Draw-a-digit preprocessing: a real MNIST digit drawn large comes back as itself; every step is kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.digits import center_of_mass, ink_of, paper_to_ink, pick, preprocess
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


# --- pick: the one call behind the shared digit picker (ui/digit_input.py) ----------------------


def png_bytes(gray: np.ndarray) -> bytes:
    """A (H, W) uint8 picture as PNG bytes, as a student would upload it."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    return buf.getvalue()


def test_pick_a_test_image_by_index_and_by_class(mnist):
    by_index = pick(mnist, "index", index=18)
    assert (by_index.index, by_index.label, by_index.steps) == (18, int(mnist.test_y[18]), None)
    np.testing.assert_array_equal(by_index.image, mnist.test_x[18].numpy())
    threes = torch.nonzero(mnist.test_y == 3).flatten()
    by_class = pick(mnist, "class", digit=3, nth=2)
    assert by_class.index == int(threes[2]) and by_class.label == 3  # the third 3 of the test set
    assert pick(mnist, "class", digit=3, nth=len(threes)).index == int(threes[0])  # wraps around
    with pytest.raises(UserError, match="0 to 9999"):
        pick(mnist, "index", index=10_000)


def test_pick_a_drawing_is_the_canvas_preprocessing(mnist):
    canvas = canvas_from(mnist.test_x[0].numpy())
    drawn = pick(mnist, "draw", picture=canvas)
    np.testing.assert_array_equal(drawn.image, preprocess(canvas).digit)
    assert drawn.index == -1 and drawn.steps is not None and drawn.image.dtype == np.uint8
    assert pick(mnist, "draw", picture=None) is None
    assert pick(mnist, "draw", picture=np.zeros((280, 280, 4), np.uint8)) is None  # blank: wait, no error


def test_an_uploaded_photo_of_dark_ink_on_paper_reads_as_the_drawn_digit(mnist):
    """Black pen on white paper, or on grey paper, gives the digit the white-on-black canvas gives."""
    canvas = canvas_from(mnist.test_x[7].numpy())  # white ink on black, as drawn
    reference = preprocess(canvas).digit
    ink = canvas[..., 0].astype(np.float64)  # (280, 280) 0..255
    white_paper = (255 - ink).round().astype(np.uint8)
    np.testing.assert_array_equal(pick(mnist, "upload", picture=png_bytes(white_paper)).image, reference)
    grey_paper = (200 - ink * 140 / 255).round().astype(np.uint8)  # a dim photo: paper 200, pen 60
    again = pick(mnist, "upload", picture=png_bytes(grey_paper)).image.astype(int)
    assert np.abs(again - reference).max() <= 3
    light_on_dark = png_bytes(canvas[..., 0])  # chalk on a blackboard: not inverted
    np.testing.assert_array_equal(pick(mnist, "upload", picture=light_on_dark).image, reference)


def test_a_blank_or_broken_upload_is_a_sentence(mnist):
    with pytest.raises(UserError, match="No digit") as err:
        pick(mnist, "upload", picture=png_bytes(np.full((100, 100), 230, np.uint8)))
    assert "数字" in err.value.zh
    with pytest.raises(UserError, match="not an image"):
        pick(mnist, "upload", picture=b"hello, not a picture")
    assert pick(mnist, "upload", picture=None) is None


def test_paper_to_ink_puts_paper_at_zero_and_the_darkest_pen_at_255():
    photo = np.full((50, 50, 3), 180, np.uint8)
    photo[20:30, 10:40] = 30  # a dark bar on light paper
    ink = paper_to_ink(photo)
    assert ink[0, 0] == 0 and ink[25, 25] == 255 and ink.dtype == np.uint8
