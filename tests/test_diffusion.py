"""core.diffusion against diffusers itself: the real img2img pipeline (tiny, random, offline) is the
reference."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core import diffusion as sd
from core.errors import UserError
from tests.tiny_sd import build_tiny_img2img

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny convolutions on a busy 2-core machine run ~10x faster on one thread than fighting over two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return build_tiny_img2img(tmp_path_factory.mktemp("tiny_sd"))


@pytest.fixture(scope="module")
def pipe(tiny_folder):
    return sd.load_img2img(str(tiny_folder), device="cpu")


@pytest.fixture(scope="module")
def sketch() -> Image.Image:
    return sd.make_mountain_sketch().resize((48, 32))


# --- step arithmetic, against the numbers in the issue and against the pipeline's get_timesteps ----


def test_homework_settings_run_38_pndm_steps_from_741_and_37_ddim_steps_from_721():
    pndm, ddim = sd.make_scheduler("pndm"), sd.make_scheduler("ddim")
    assert sd.steps_run(50, 0.75, pndm) == 38 and sd.timesteps_run(50, 0.75, pndm)[0] == 741
    assert sd.steps_run(50, 0.75, ddim) == 37 and sd.timesteps_run(50, 0.75, ddim)[0] == 721
    assert sd.timesteps_run(50, 0.75, pndm)[-1] == 1  # SD-1.5's steps_offset=1
    assert sd.steps_run(50, 1.0, pndm) == 51 and sd.timesteps_run(50, 1.0, pndm)[0] == 981


@pytest.mark.parametrize("name", ["pndm", "ddim", "euler"])
@pytest.mark.parametrize("steps,strength", [(50, 0.75), (20, 0.3), (7, 0.5), (10, 1.0), (3, 0.34)])
def test_timesteps_match_the_pipelines_own_get_timesteps(pipe, name, steps, strength):
    scheduler = sd.make_scheduler(name)
    scheduler.set_timesteps(steps)
    reference = type(pipe)(**{**pipe.components, "scheduler": scheduler})
    expected, _ = reference.get_timesteps(steps, strength, "cpu")
    assert sd.timesteps_run(steps, strength, sd.make_scheduler(name)) == [int(t) for t in expected]


def reference_get_timesteps(pipe, steps: int, strength: float, name: str = "ddim"):
    """diffusers' own StableDiffusionImg2ImgPipeline.get_timesteps -> (timesteps, steps kept)."""
    scheduler = sd.make_scheduler(name)
    scheduler.set_timesteps(steps)
    return type(pipe)(**{**pipe.components, "scheduler": scheduler}).get_timesteps(steps, strength, "cpu")


@pytest.mark.parametrize("steps,strength", [(50, 0.75), (50, 1.0), (10, 0.05), (7, 0.3), (13, 0.6), (4, 0.0)])
def test_kept_steps_is_what_the_pipeline_keeps(pipe, steps, strength):
    """The one strength -> start-step function (the page's arithmetic text and run_img2img use it)."""
    assert (
        sd.kept_steps(steps, strength) == reference_get_timesteps(pipe, steps, strength)[1]
    )  # DDIM: order 1


@pytest.mark.parametrize("name", ["pndm", "ddim"])
def test_img2img_schedule_is_the_pipelines_and_leaves_the_original_alone(pipe, name):
    original = sd.make_scheduler(name)
    sched, timesteps = sd.img2img_schedule(20, 0.6, original)
    expected, _ = reference_get_timesteps(pipe, 20, 0.6, name)
    assert [int(t) for t in timesteps] == [int(t) for t in expected]
    assert sched is not original and original.num_inference_steps is None  # the copy was set, not it


def test_evenly_spaced_keeps_first_and_last():
    assert sd.evenly_spaced(38, 10)[0] == 0 and sd.evenly_spaced(38, 10)[-1] == 37
    assert sd.evenly_spaced(3, 10) == [0, 1, 2] and sd.evenly_spaced(0, 6) == []
    assert len(sd.evenly_spaced(51, 6)) == 6


def test_steps_run_leaves_a_shared_scheduler_untouched(pipe):
    before = list(pipe.scheduler.timesteps) if pipe.scheduler.timesteps is not None else None
    sd.steps_run(13, 0.6, pipe.scheduler)
    after = list(pipe.scheduler.timesteps) if pipe.scheduler.timesteps is not None else None
    assert before == after


@pytest.mark.parametrize("steps,strength", [(10, 0.05), (1, 0.5), (0, 1.0)])
def test_settings_that_run_nothing_are_explained(steps, strength):
    with pytest.raises(UserError, match="strength|step"):
        sd.steps_run(steps, strength, sd.make_scheduler())


def test_strength_outside_0_1_is_explained():
    with pytest.raises(UserError) as err:
        sd.check_settings(50, 1.5)
    assert "0" in err.value.zh and "1" in err.value.en


# --- the real pipeline: steps really run, callbacks, size, determinism ------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pndm", "ddim"])
def test_callback_count_of_the_real_pipeline_equals_steps_run(tiny_folder, sketch, name):
    p = sd.load_img2img(str(tiny_folder), device="cpu")
    p.scheduler = sd.make_scheduler(name, p.scheduler.config)
    seen: list[int] = []

    def count(_pipe, i, t, kwargs):
        seen.append(int(t))
        return kwargs

    p(
        prompt="a lake",
        image=sketch,
        num_inference_steps=4,
        strength=0.5,
        guidance_scale=1.0,
        callback_on_step_end=count,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(seen) == sd.steps_run(4, 0.5, p.scheduler) == (3 if name == "pndm" else 2)
    assert seen == sd.timesteps_run(4, 0.5, p.scheduler)


@pytest.mark.slow
def test_run_img2img_gives_the_pipelines_image_with_previews_each_step(pipe, sketch):
    calls: list[dict] = []
    result = sd.run_img2img(
        pipe,
        sketch,
        sd.HOMEWORK_PROMPT,
        strength=0.75,
        guidance_scale=7.5,
        steps=4,
        seed=3,
        report=calls.append,
    )
    reference = pipe(
        prompt=sd.HOMEWORK_PROMPT,
        image=sketch,
        strength=0.75,
        guidance_scale=7.5,
        num_inference_steps=4,
        generator=torch.Generator().manual_seed(3),
    ).images[0]
    diff = np.abs(np.asarray(result.image, dtype=int) - np.asarray(reference, dtype=int)).max()
    assert diff <= 1, f"our recipe differs from StableDiffusionImg2ImgPipeline by {diff} grey levels"
    n = sd.steps_run(4, 0.75, pipe.scheduler)
    assert [c["step"] for c in calls] == list(range(1, n + 1)) and {c["steps"] for c in calls} == {n}
    assert [c["progress"] for c in calls] == [(i + 1) / n for i in range(n)]
    assert [c["t"] for c in calls] == result.timesteps == sd.timesteps_run(4, 0.75, pipe.scheduler)
    assert len(result.previews) == n and result.image.size == sketch.size
    assert result.previews[0].size == (sketch.width // 2, sketch.height // 2)  # tiny VAE: factor 2
    assert result.settings["steps_run"] == n and result.settings["start_timestep"] == result.timesteps[0]
    assert result.summary == dict(n=n, t=result.timesteps[0], seconds=result.seconds, device="CPU")  # "Done"


@pytest.mark.slow
def test_same_seed_same_image_other_seed_other_image(pipe, sketch):
    def run(seed: int) -> np.ndarray:
        return np.asarray(
            sd.run_img2img(pipe, sketch, "snow", steps=2, strength=0.5, guidance_scale=1.0, seed=seed).image
        )

    first = run(5)
    assert np.array_equal(first, run(5))
    assert not np.array_equal(first, run(6))


@pytest.mark.slow
def test_ddim_can_replace_the_scheduler_for_one_run(pipe, sketch):
    result = sd.run_img2img(pipe, sketch, "", steps=4, strength=0.5, guidance_scale=1.0, scheduler="ddim")
    assert result.settings["scheduler"] == "DDIMScheduler" and len(result.timesteps) == 2
    assert type(pipe.scheduler).__name__ == "PNDMScheduler"  # the shared pipeline keeps its own


def test_size_is_rounded_down_to_multiples_of_8(pipe):
    odd = sd.make_mountain_sketch(50, 37)
    result = sd.run_img2img(pipe, odd, "a", steps=1, strength=1.0, guidance_scale=1.0)
    assert result.image.size == (48, 32)
    assert sd.sd_image_size(768, 512, 512) == (512, 336)
    assert sd.sd_image_size(4000, 3000, 768) == (768, 576)
    assert sd.sd_image_size(30, 30, 768) == (24, 24)


@pytest.mark.slow
@pytest.mark.parametrize("prompt", ["", "奇幻风景，雪山和湖泊", "🏔️🌋✨ fantasy 🐉", "mountain " * 1200])
def test_any_prompt_runs_and_long_ones_are_counted(pipe, sketch, prompt):
    result = sd.run_img2img(
        pipe, sketch, prompt, negative_prompt="blurry", steps=1, strength=1.0, guidance_scale=2.0
    )
    assert result.image.size == sketch.size
    assert (result.prompt_tokens > sd.CLIP_MAX_TOKENS) == (len(prompt) > 1000)


def test_contact_sheet_is_strength_by_guidance(pipe, sketch):
    small = sketch.resize((16, 16))
    records: list[dict] = []
    sheet = sd.contact_sheet(
        pipe, small, "lake", [0.5, 1.0], [1.0, 3.0, 7.5], steps=2, seed=1, report=records.append
    )
    assert len(sheet) == 2 and all(len(row) == 3 for row in sheet)
    assert [r["done"] for r in records] == list(range(1, 7)) and {r["total"] for r in records} == {6}
    assert records[-1]["progress"] == 1.0 and sheet[0][0].size == (16, 16)
    one = sd.run_img2img(pipe, small, "lake", "", 1.0, 3.0, 2, seed=1).image  # row 1, column 1: one plain run
    assert np.array_equal(np.asarray(sheet[1][1]), np.asarray(one))


def test_stop_ends_a_run_and_a_sheet_with_nothing(pipe, sketch):
    """Stop (core.jobs.BackgroundJob) is checked before every UNet step: a stopped run returns None."""
    small = sketch.resize((16, 16))
    asked = []
    stop_after_one = lambda: asked.append(1) or len(asked) > 1  # noqa: E731
    assert (
        sd.run_img2img(
            pipe, small, "a", steps=4, strength=1.0, guidance_scale=1.0, should_stop=stop_after_one
        )
        is None
    )
    assert len(asked) == 2  # one step ran, the second was not started
    assert sd.contact_sheet(pipe, small, "a", [1.0], [1.0], steps=2, should_stop=lambda: True) is None


def test_a_job_runs_the_tiny_pipeline_with_progress_and_stop(pipe, sketch):
    """The page's pattern, without the page: BackgroundJob(work(report, should_stop)) on the tiny pipeline."""
    from core.jobs import BackgroundJob

    small = sketch.resize((16, 16))
    work = lambda report, stop: sd.run_img2img(  # noqa: E731
        pipe, small, "a", steps=2, strength=1.0, guidance_scale=1.0, report=report, should_stop=stop
    )
    job = BackgroundJob(work, "cpu", name="sd-test").start().join(120)
    assert job.status == "done" and job.snapshot()["progress"] == 1.0
    assert len(job.records) == sd.steps_run(2, 1.0, pipe.scheduler) == 3  # PNDM repeats one timestep
    stopped = BackgroundJob(work, "cpu", name="sd-test-stop")
    stopped.stop()
    stopped.start().join(120)
    assert stopped.status in ("stopped", "cancelled") and stopped.result is None


# --- no weights: fast, one clear sentence ---------------------------------------------------------


def test_missing_hub_weights_fail_without_a_download_try_with_one_sentence(monkeypatch):
    """Fast because nothing waits on the network: the cache is asked offline, the Hub is probed once."""
    from diffusers import StableDiffusionImg2ImgPipeline

    from core import data

    probes, loads = [], []
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: probes.append(a) or False)
    original = StableDiffusionImg2ImgPipeline.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        loads.append(kwargs.get("local_files_only"))
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(StableDiffusionImg2ImgPipeline, "from_pretrained", classmethod(spy))
    with pytest.raises(UserError) as err:
        sd.load_img2img("nobody-here/no-such-model-xyz", device="cpu")
    assert loads == [True] and len(probes) == 1  # no download attempt, one bounded probe (5 s at most)
    for text in (err.value.en, err.value.zh):  # one sentence: one full stop, at the end, no shell line
        assert (
            "make prepare" in text and "nobody-here/no-such-model-xyz" in text and "hf download" not in text
        )
        assert "\n" not in text and text.endswith((".", "。"))
        assert ". " not in text and "。" not in text[:-1]
    assert sd.weights_status("nobody-here/no-such-model-xyz") == "missing"


def test_offline_flag_refuses_without_probing(monkeypatch):
    from core import data

    monkeypatch.setenv("OFFLINE", "1")
    monkeypatch.setattr(data, "network_reachable", lambda *a, **k: pytest.fail("probed the network"))
    with pytest.raises(UserError, match="huggingface.co"):
        sd.load_img2img("nobody-here/no-such-model-xyz", device="cpu")


def test_wrong_paths_get_their_own_sentence(tmp_path):
    with pytest.raises(UserError, match="no model_index.json"):
        sd.load_img2img(str(tmp_path), device="cpu")
    with pytest.raises(UserError, match="no file"):
        sd.load_img2img(str(tmp_path / "missing.safetensors"), device="cpu")
    with pytest.raises(UserError, match="neither"):
        sd.load_img2img("just some words", device="cpu")


def test_weights_where_says_here_downloadable_or_missing(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    answers, silent = (lambda: True), (lambda: False)
    never = lambda: pytest.fail("probed the network")
    assert sd.weights_where(str(tiny_folder), never) == "folder"  # here: no probe needed
    assert sd.weights_where("nobody-here/no-such-model-xyz", answers) == "download"  # the Hub answers
    assert sd.weights_where("nobody-here/no-such-model-xyz", silent) == "missing"
    assert (
        sd.weights_where(str(tmp_path / "missing.safetensors"), never) == "missing"
    )  # a path: never the Hub
    monkeypatch.setenv("OFFLINE", "1")
    assert sd.weights_where("nobody-here/no-such-model-xyz", never) == "missing"  # offline: no probe
    from core import data  # the default probe is core.data.network_reachable on huggingface.co

    monkeypatch.delenv("OFFLINE")
    monkeypatch.setattr(data, "network_reachable", lambda host, *a, **k: host == sd.HUB_HOST)
    assert sd.weights_where("nobody-here/no-such-model-xyz") == "download"


def test_weights_status_and_default_model(tiny_folder, monkeypatch):
    assert sd.weights_status(str(tiny_folder)) == "folder"
    monkeypatch.setenv("SD_MODEL", str(tiny_folder))
    assert sd.default_model() == str(tiny_folder)
    monkeypatch.delenv("SD_MODEL")
    assert sd.default_model() == sd.DEFAULT_MODEL


# --- teaching pieces without weights -------------------------------------------------------------


def test_forward_noise_is_the_closed_form():
    scheduler = sd.make_scheduler()
    image = sd.make_mountain_sketch(64, 40)
    t = 741
    noisy = np.asarray(sd.forward_noise(image, t, scheduler, seed=11), dtype=np.float64)
    a = float(scheduler.alphas_cumprod[t])
    x0 = sd.image_to_tensor(image)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(11))
    expected = ((a**0.5 * x0 + (1 - a) ** 0.5 * eps) / 2 + 0.5).clamp(0, 1) * 255
    expected = expected[0].permute(1, 2, 0).double().numpy()
    assert np.abs(noisy - expected).max() <= 1.0
    assert 0.0 < a < 0.2  # at t=741 less than a fifth of the signal variance is left


def test_noise_schedule_is_sd15s_scaled_linear():
    alphas = sd.noise_schedule(sd.make_scheduler())
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    assert alphas.shape == (1000,)
    assert torch.allclose(alphas.double(), torch.cumprod(1 - betas, 0), atol=1e-6)


def test_plan_is_the_pages_sections_1_and_2_from_the_closed_form():
    """The homework's settings: 38 PNDM steps from t=741, √ᾱ_741 of the signal, the input at its run size."""
    image = sd.make_mountain_sketch(96, 64)
    plan = sd.plan_img2img(image, 48, 50, 0.75, "pndm", seed=11)
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    alpha_bar = torch.cumprod(1 - betas, 0)
    assert len(plan.timesteps) == 38 and plan.timesteps[0] == 741 and plan.kept == 37
    assert abs(plan.signal_left - float(alpha_bar[741]) ** 0.5) < 1e-6
    assert plan.image.size == (48, 32)  # the longer side at most 48, both multiples of 8
    expected = sd.forward_noise(image.resize((48, 32)), 741, sd.make_scheduler("pndm"), seed=11)
    assert np.array_equal(np.asarray(plan.noisy), np.asarray(expected))
    with pytest.raises(UserError):
        sd.plan_img2img(image, 48, 10, 0.05)  # 10 × 0.05 rounds down to no step at all


def test_image_sides_follow_the_servers_limits(monkeypatch):
    from core.limits import LIMITS

    assert sd.max_side("cpu") == LIMITS.max_sd_side_cpu and sd.max_side("cuda") == LIMITS.max_sd_side
    assert sd.side_choices(512) == [128, 256, 384, 512] and sd.side_choices(100) == [128]
    assert all(s % 8 == 0 for s in sd.SIDES)


def test_both_contact_sheets_start_with_picks_they_offer_and_can_run():
    """The SD page's sheet as it was (3 × 3 cells of 20 steps), the MNIST page's, and MAX_SD_STEPS caps."""
    from core import ddpm
    from core.limits import LIMITS

    assert (sd.SHEET.rows, sd.SHEET.cols) == ((0.5, 0.75, 1.0), (1.0, 7.5, 12.0))
    assert sd.SHEET.steps == min(20, LIMITS.max_sd_steps)
    assert sd.SHEET.max_steps == LIMITS.max_sd_steps and ddpm.SHEET.max_steps == ddpm.MAX_STEPS
    for spec in (sd.SHEET, ddpm.SHEET):
        assert set(spec.rows) <= set(spec.strengths) and set(spec.cols) <= set(spec.guidances)
        assert 1 <= spec.steps <= spec.max_steps
        for strength in spec.rows:  # every first row runs at least one step: no "pick more steps" sentence
            sd.check_settings(spec.steps, strength)


def test_latent_preview_is_the_linear_map():
    z = torch.randn(1, 4, 6, 5, generator=torch.Generator().manual_seed(0))
    preview = np.asarray(sd.latents_to_rgb(z), dtype=np.float64)
    manual = np.einsum("chw,cr->hwr", z[0].numpy(), sd.LATENT_RGB_FACTORS.numpy())
    manual = np.clip(manual / 2 + 0.5, 0, 1) * 255
    assert preview.shape == (6, 5, 3) and np.abs(preview - manual).max() <= 1.0


def test_png_keeps_the_settings_in_its_metadata():
    settings = dict(prompt="奇幻风景 🏔️", strength=0.75, guidance_scale=7.5, seed=3)
    data = sd.png_with_settings(sd.make_mountain_sketch(32, 24), settings)
    png = Image.open(io.BytesIO(data))
    assert png.format == "PNG" and png.size == (32, 24)
    assert png.text["sd.prompt"] == "奇幻风景 🏔️" and png.text["sd.strength"] == "0.75"
    assert json.loads(png.text["parameters"]) == settings


def test_bundled_sketch_is_the_code_drawn_one_and_small(monkeypatch, tmp_path):
    bundled = ROOT / "assets" / "sd" / "mountain_sketch.png"
    assert bundled.stat().st_size < 64_000 and sd.SKETCH == bundled
    drawn = np.asarray(sd.make_mountain_sketch())
    assert np.array_equal(np.asarray(Image.open(bundled).convert("RGB")), drawn)
    assert np.array_equal(np.asarray(sd.bundled_sketch()), drawn)
    monkeypatch.setattr(sd, "SKETCH", tmp_path / "gone.png")  # a checkout without assets draws it
    assert np.array_equal(np.asarray(sd.bundled_sketch()), drawn)


@pytest.mark.gpu
def test_cuda_pipeline_is_fp16_sdpa_channels_last_and_runs(tiny_folder, sketch):
    from diffusers.models.attention_processor import AttnProcessor2_0

    pipe = sd.load_img2img(str(tiny_folder), device="cuda")
    assert pipe.unet.dtype == torch.float16 and pipe.unet.device.type == "cuda"
    assert all(isinstance(p, AttnProcessor2_0) for p in pipe.unet.attn_processors.values())
    assert pipe.unet.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    result = sd.run_img2img(pipe, sketch, sd.HOMEWORK_PROMPT, steps=4, strength=0.5, seed=1)
    assert result.image.size == sketch.size and len(result.timesteps) == 3
