"""The MNIST diffusion core: closed-form noising, steps run, guidance, seeds, training, checkpoints."""

import numpy as np
import pytest
import torch

from core import ddpm, diffusion
from core.errors import UserError

TINY = ddpm.DDPMConfig(channels=(8, 16, 16), steps=3, batch_size=8, log_every=1, train_subset=256)


@pytest.fixture(scope="module")
def unet():
    return ddpm.build_unet(TINY).eval()


def a_digit(mnist) -> torch.Tensor:
    return mnist.test_x[18]  # a 3


def test_noising_equals_closed_form():
    """x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε with ᾱ_t = ∏(1 − β_s), β linear 1e-4 … 0.02 (Ho et al. 2020), by hand."""
    x0 = torch.rand(2, 1, 28, 28) * 2 - 1
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    alpha_bar = torch.cumprod(1 - betas, 0)
    for t in (0, 1, 250, 741, 999):
        eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(5))
        expected = alpha_bar[t].sqrt() * x0.double() + (1 - alpha_bar[t]).sqrt() * eps.double()
        got = ddpm.add_noise(x0, t, seed=5)
        torch.testing.assert_close(got.double(), expected, atol=1e-5, rtol=1e-5)
    # and the scheduler every sampler uses holds the same ᾱ
    for name in ddpm.SCHEDULER_NAMES:
        torch.testing.assert_close(
            ddpm.make_scheduler(name).alphas_cumprod.double(), alpha_bar, atol=1e-6, rtol=1e-5
        )


@pytest.mark.parametrize("scheduler", ddpm.SCHEDULER_NAMES)
def test_steps_run_equal_what_is_shown(unet, mnist, scheduler):
    for steps, strength in ((10, 1.0), (10, 0.6), (7, 0.3)):
        plan = ddpm.step_plan(steps, strength, scheduler)
        out = ddpm.sample(unet, 3, steps, scheduler, 2.0, seed=0, init=a_digit(mnist), strength=strength)
        assert out.timesteps == plan.timesteps
        assert len(out.xt) == len(out.x0) == len(plan.timesteps) == out.settings["steps_run"]
        assert plan.kept == int(steps * strength) and plan.skipped == steps - plan.kept
        assert plan.timesteps[0] == out.timesteps[0] == out.settings["start_timestep"]
        # the SD page's own arithmetic on the same scheduler
        assert out.timesteps == diffusion.timesteps_run(steps, strength, ddpm.make_scheduler(scheduler))
    # DDIM runs exactly int(steps × strength) steps; PNDM repeats one timestep (as on the SD page)
    n = {s: len(ddpm.step_plan(50, 0.6, s).timesteps) for s in ddpm.SCHEDULER_NAMES}
    assert n == {"ddpm": 30, "ddim": 30, "pndm": 31}
    # from noise, the first step is pure noise at t = 999 ("trailing" spacing)
    assert ddpm.step_plan(50, 1.0, "ddim").timesteps[:2] == [999, 979]


def test_guidance_one_is_the_conditional_prediction_alone(unet):
    x = torch.randn(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([1, 5, 9])
    with torch.no_grad():
        guided, cond, uncond = ddpm.guided_noise(unet, x, 500, labels, 1.0)
        alone = unet(x, 500, class_labels=labels).sample
        null = unet(x, 500, class_labels=torch.full_like(labels, ddpm.NULL_CLASS)).sample
        assert torch.equal(guided, cond)
        torch.testing.assert_close(cond, alone, atol=1e-5, rtol=1e-4)  # the doubled batch changes nothing
        torch.testing.assert_close(uncond, null, atol=1e-5, rtol=1e-4)
        for w in (0.0, 3.0, 7.5):  # Ho & Salimans 2022: ε̂_u + w·(ε̂_c − ε̂_u)
            torch.testing.assert_close(
                ddpm.guided_noise(unet, x, 500, labels, w)[0],
                uncond + w * (cond - uncond),
                atol=1e-5,
                rtol=1e-4,
            )


def test_same_seed_same_image(unet, mnist):
    for kwargs in ({}, {"init": a_digit(mnist), "strength": 0.5}):
        for scheduler in ddpm.SCHEDULER_NAMES:  # DDPM draws fresh noise at every step: from the seed too
            a = ddpm.sample(unet, 7, 3, scheduler, 3.0, seed=11, **kwargs)
            b = ddpm.sample(unet, 7, 3, scheduler, 3.0, seed=11, **kwargs)
            assert torch.equal(a.images, b.images) and torch.equal(a.x0, b.x0)
        c = ddpm.sample(unet, 7, 3, scheduler, 3.0, seed=12, **kwargs)
        assert not torch.equal(a.images, c.images)


def test_trace_is_the_x0_formula(unet):
    out = ddpm.sample(unet, 2, 4, "ddim", 1.0, seed=3)
    assert out.images.shape == (1, 28, 28) and out.x0.shape == out.xt.shape == (4, 28, 28)
    assert 0 <= float(out.images.min()) and float(out.images.max()) <= 1
    assert torch.equal(out.x0, out.x0_cond)  # w = 1: the guided prediction is the conditional one
    torch.testing.assert_close(out.xt[-1], out.images[0])
    # x̂₀ formula by hand
    a = torch.tensor(0.3)
    xt, eps = torch.randn(1, 1, 28, 28), torch.randn(1, 1, 28, 28)
    x0 = ddpm.predicted_x0(xt, eps, a)
    torch.testing.assert_close(a.sqrt() * x0 + (1 - a).sqrt() * eps, xt)


def test_odd_input_gets_a_sentence(unet):
    with pytest.raises(UserError, match="rounds down to 0"):
        ddpm.step_plan(50, 0.0)
    with pytest.raises(UserError, match="empty"):
        ddpm.sample(unet, 3, 5, init=torch.zeros(28, 28, dtype=torch.uint8), strength=0.5)
    with pytest.raises(UserError):
        ddpm.sample(unet, 3, 0)
    with pytest.raises(UserError):
        ddpm.sample(unet, 12, 5)
    with pytest.raises(UserError):
        ddpm.make_scheduler("euler2")
    with pytest.raises(UserError):
        ddpm.build_unet(ddpm.DDPMConfig(channels=(12, 16)))


def test_contact_sheet_cells_are_single_runs(unet, mnist):
    sheet = ddpm.contact_sheet(unet, a_digit(mnist), 8, [0.4, 1.0], [0.0, 3.0], steps=5, seed=2)
    assert sheet.shape == (2, 2, 28, 28)
    one = ddpm.sample(unet, 8, 5, "ddim", 3.0, seed=2, init=a_digit(mnist), strength=0.4)
    assert torch.equal(sheet[0, 1], one.images[0])
    one_picture = ddpm.pictures(sheet[0, 1:], factor=3)[0]  # what the page shows of that cell
    assert one_picture.dtype == np.uint8 and one_picture.shape == (84, 84)
    expected = (one.images[0] * 255).round().to(torch.uint8).repeat_interleave(3, 0).repeat_interleave(3, 1)
    assert np.array_equal(one_picture, expected.numpy())
    ref = torch.full((2 * 30 + 2, 2 * 30 + 2), 0.35)  # the layout by hand: 2 grey pixels around each cell
    for i in range(2):
        for j in range(2):
            ref[2 + 30 * i : 30 + 30 * i, 2 + 30 * j : 30 + 30 * j] = sheet[i, j]
    ref = (ref * 255).round().to(torch.uint8).repeat_interleave(2, 0).repeat_interleave(2, 1)
    assert torch.equal(ddpm.grid(sheet, pad=2, scale=2), ref)
    assert ddpm.contact_sheet(unet, a_digit(mnist), 8, [0.4], [1.0], 5, should_stop=lambda: True) is None


def test_training_reports_and_stops(mnist):
    records = []
    unet, meta = ddpm.train(TINY, records.append, data=mnist)
    assert [r["step"] for r in records] == [1, 2, 3] and records[-1]["progress"] == 1.0
    assert {r["total"] for r in records} == {3}  # the page's "step k of total" reads it
    assert meta["steps_done"] == 3 and meta["images"] == 24 and 0.1 < meta["final_loss"] < 3
    assert not unet.training
    # the loss is the MSE of the noise: an untrained UNet predicts ~0, so it starts near E[ε²] = 1
    assert 0.5 < records[0]["loss"] < 2
    _, stopped = ddpm.train(TINY, None, lambda: True, data=mnist)
    assert stopped["steps_done"] == 0
    assert ddpm.lr_at(0, ddpm.DDPMConfig()) < ddpm.lr_at(99, ddpm.DDPMConfig()) == ddpm.DDPMConfig().lr
    assert ddpm.lr_at(ddpm.DDPMConfig().steps, ddpm.DDPMConfig()) == pytest.approx(0.0, abs=1e-12)


def test_checkpoint_round_trip(unet, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    assert ddpm.load_cached("mnist") is None
    path = ddpm.save_cached(unet, {"config": {"dataset": "mnist"}, "steps_done": 3})
    assert path == tmp_path / "ddpm" / "mnist.safetensors"
    again, meta = ddpm.load_cached("mnist")
    assert meta["steps_done"] == 3
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(
            again(x, 10, class_labels=torch.tensor([4])).sample,
            unet(x, 10, class_labels=torch.tensor([4])).sample,
        )
    import pickle

    with pytest.raises(UserError):
        ddpm.load_unet(pickle.dumps({"a": 1}))
    path.write_bytes(path.read_bytes()[:100])  # a damaged file counts as none
    assert ddpm.load_cached("mnist") is None


def test_describe_unet_rows(unet):
    rows = ddpm.describe_unet(unet, batch=1, guidance=True)
    assert [r.name for r in rows] == [
        "conv_in", "time_embedding", "down_blocks.0", "down_blocks.1", "down_blocks.2", "mid_block",
        "up_blocks.0", "up_blocks.1", "up_blocks.2", "conv_out",
    ]  # fmt: skip
    assert sum(r.params for r in rows) == ddpm.count_parameters(unet)
    assert rows[0].in_shape == (2, 1, 28, 28) and rows[-1].out_shape == (2, 1, 28, 28)
    assert rows[3].out_shape == (2, 16, 7, 7) and rows[5].level == 2
    assert any(p.name == "class_embedding" for p in rows[1].parts)
