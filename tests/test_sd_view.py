"""core.sd_view: the SD page's jobs give what core.diffusion gives when called directly (tiny pipeline)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core import diffusion as sd
from core import sd_view
from core.jobs import BackgroundJob
from tests.tiny_sd import build_tiny_img2img


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions on a busy 2-core machine
    yield sd.load_img2img(str(build_tiny_img2img(tmp_path_factory.mktemp("tiny_sd_view"))), device="cpu")
    torch.set_num_threads(before)


def test_generate_work_is_run_img2img_in_a_job_that_loads_first(pipe):
    image = sd.make_mountain_sketch().resize((24, 16))
    settings = sd.Img2ImgSettings(prompt="lake", strength=1.0, guidance_scale=3.0, steps=2, scheduler="ddim")
    loads = []
    work = sd_view.generate_work(lambda: loads.append(1) or pipe, image, settings, seed=3)
    assert not loads  # nothing loads until the job runs
    job = BackgroundJob(work, "cpu", name="sd-view-test").start().join(120)
    assert job.status == "done" and loads == [1]
    assert job.records[0] == {"progress": 0.0} and job.records[-1]["progress"] == 1.0  # loading, then steps
    out, shown = job.result
    direct = sd.run_img2img(pipe, image, "lake", "", 1.0, 3.0, 2, seed=3, scheduler="ddim")
    assert shown is image and np.array_equal(np.asarray(out.image), np.asarray(direct.image))
    assert out.timesteps == direct.timesteps and out.settings == direct.settings
    assert sd_view.generate_work(lambda: pipe, image, settings, 3)(lambda r: None, lambda: True) is None


def test_sheet_run_is_the_contact_sheet_with_the_settings_prompts(pipe):
    image = sd.make_mountain_sketch().resize((16, 16))
    settings = sd.Img2ImgSettings(prompt="snow", negative_prompt="sky")
    run = sd_view.sheet_run(lambda: pipe, image, settings, seed=1)
    records: list[dict] = []
    sheet = run([0.5, 1.0], [1.0, 7.5], 2, records.append, lambda: False)
    direct = sd.contact_sheet(pipe, image, "snow", [0.5, 1.0], [1.0, 7.5], 2, 1, "sky")
    assert [r["done"] for r in records] == [1, 2, 3, 4]
    pixels = lambda sheet: [np.asarray(im) for row in sheet for im in row]  # noqa: E731
    assert len(sheet) == 2 and np.array_equal(pixels(sheet), pixels(direct))
    assert run([1.0], [1.0], 2, records.append, lambda: True) is None  # Stop
