"""The Stable Diffusion page's two background jobs over core.diffusion: Generate and the contact sheet.

Both take `load`, a function of no arguments returning the pipeline, and call it inside the job, so that
a first run loads the weights in the background (with its live view saying so) instead of freezing the page.

    work = generate_work(lambda: load_img2img(model, "cpu"), plan.image, Img2ImgSettings(), seed=0)
    BackgroundJob(work, "cpu").start().join().result   # (Img2ImgResult, the input image)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from PIL import Image

from core.diffusion import Img2ImgResult, Img2ImgSettings, contact_sheet, run_img2img
from core.jobs import Report, Work

Load = Callable[[], Any]  # () -> a StableDiffusionImg2ImgPipeline (the app's process-wide cache)
SheetRun = Callable[..., list[list[Image.Image]] | None]  # (rows, cols, steps, report, should_stop)


def generate_work(load: Load, image: Image.Image, settings: Img2ImgSettings, seed: int) -> Work:
    """Generate: img2img of the (H, W) `image` -> (Img2ImgResult, image), or None when stopped.

    It reports {"progress": 0.0} before loading, so a live view can say "loading" until the first step.
    """
    args = dict(**asdict(settings), seed=seed)

    def work(report: Report, should_stop: Callable[[], bool]) -> tuple[Img2ImgResult, Image.Image] | None:
        report({"progress": 0.0})
        out = run_img2img(load(), image, **args, report=report, should_stop=should_stop)
        return None if out is None else (out, image)

    return work


def sheet_run(load: Load, image: Image.Image, settings: Img2ImgSettings, seed: int) -> SheetRun:
    """The contact sheet of `image` with the settings' prompts: run(rows, cols, steps, report, should_stop)
    -> sheet[row = strength][col = guidance] images (ui/img2img.sheet_ui runs it as its job)."""

    def run(rows, cols, steps, report, should_stop):
        prompt, negative = settings.prompt, settings.negative_prompt
        return contact_sheet(load(), image, prompt, rows, cols, steps, seed, negative, report, should_stop)

    return run
