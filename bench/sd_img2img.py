"""Stable Diffusion img2img speed: our pipeline vs the plain diffusers defaults, same run and settings.

Goal (GPU): ≥ 1.3× the plain pipeline's UNet steps per second (ours: fp16 + SDPA + channels_last,
optionally torch.compile), and its peak GPU memory. Both run the homework's settings (768×512,
strength 0.75, guidance 7.5, 50 steps -> 38 UNet steps with PNDM) at one seed.

    python bench/sd_img2img.py                       # GPU, SD_MODEL or stable-diffusion-v1-5
    python bench/sd_img2img.py --compile             # + torch.compile of the UNet
    python bench/sd_img2img.py --tiny --cpu          # proves the script runs: tiny random pipeline, CPU

Without CUDA it prints the device and exits (status 2) unless --cpu is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import diffusion  # noqa: E402
from core.device import describe  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_pipeline(model: str, device: torch.device):
    """What the homework did: from_pretrained with defaults (fp32, as SD-1.5's weights are), on the device."""
    from diffusers import StableDiffusionImg2ImgPipeline

    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(model, local_files_only=True, dtype=torch.float32)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def timed(label: str, device: torch.device, run, unet_steps: int, repeats: int) -> dict:
    """Run `run()` once to warm up, then `repeats` times; report UNet steps/s and peak memory."""
    run()  # warm-up: cuDNN autotuning, compile, lazy allocations
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    sync(device)
    seconds = (time.perf_counter() - start) / repeats
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
    row = dict(label=label, seconds=seconds, steps_per_s=unet_steps / seconds, peak_gb=peak)
    print(f"{label:<34} {seconds:8.2f} s/image  {row['steps_per_s']:7.2f} UNet steps/s  peak {peak:6.2f} GB")
    return row


def first_image_seconds(device: torch.device, run) -> float:
    """Seconds for the first image of a freshly loaded pipeline (cuDNN autotuning or the compile included)."""
    sync(device)
    start = time.perf_counter()
    run()
    sync(device)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="hub id, folder or .safetensors (default: SD_MODEL or SD-1.5)"
    )
    parser.add_argument("--tiny", action="store_true", help="use the tiny random test pipeline (no weights)")
    parser.add_argument("--cpu", action="store_true", help="allow running on the CPU (only to prove it runs)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet of our pipeline")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--side", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    info = describe(device)
    print(f"device: {info.kind} ({info.name}); torch {torch.__version__}")
    if device.type != "cuda" and not args.cpu:
        print(
            "No CUDA GPU here: this benchmark measures GPU speed. Run it on a machine with a GPU, "
            "or pass --cpu --tiny to check that it runs."
        )
        return 2

    tmp = None
    if args.tiny:
        from tests.tiny_sd import build_tiny_img2img

        tmp = tempfile.TemporaryDirectory()
        model = str(build_tiny_img2img(Path(tmp.name) / "tiny"))
        print("model: tiny random pipeline (diffusers' test sizes) — the figures say nothing about SD speed")
    else:
        model = args.model or diffusion.default_model()
        print(f"model: {model}")

    width, height = diffusion.sd_image_size(768, 512, args.side)
    image = diffusion.make_mountain_sketch().resize((width, height))
    strength, guidance, seed = 0.75, 7.5, 0
    unet_steps = diffusion.steps_run(args.steps, strength, diffusion.make_scheduler())
    print(
        f"settings: {width}×{height}, strength {strength}, guidance {guidance}, {args.steps} steps "
        f"-> {unet_steps} UNet steps (×2 batch for guidance), seed {seed}"
    )

    # Reference: the plain diffusers pipeline with its defaults (fp32, default attention), same settings.
    plain = plain_pipeline(model, device)

    def run_plain():
        return plain(
            prompt=diffusion.HOMEWORK_PROMPT,
            image=image,
            strength=strength,
            guidance_scale=guidance,
            num_inference_steps=args.steps,
            generator=torch.Generator().manual_seed(seed),
        )

    reference = timed("plain diffusers defaults (fp32)", device, run_plain, unet_steps, args.repeats)
    plain = None  # free its memory before ours loads
    if device.type == "cuda":
        torch.cuda.empty_cache()

    def run_ours(pipe):
        return lambda: diffusion.run_img2img(
            pipe,
            image,
            diffusion.HOMEWORK_PROMPT,
            strength=strength,
            guidance_scale=guidance,
            steps=args.steps,
            seed=seed,
        )

    ours = diffusion.load_img2img(model, device, compile_unet=False)  # fp16 + SDPA + channels_last on CUDA
    label = "ours (fp16+SDPA+channels_last)" if device.type == "cuda" else "ours (fp32 on CPU)"
    first = first_image_seconds(device, run_ours(ours))
    mine = timed(label, device, run_ours(ours), unet_steps, args.repeats)
    speedup = mine["steps_per_s"] / reference["steps_per_s"]
    print(f"first image on a warm server (pipeline loaded): {first:.2f} s")
    print(f"speed-up: {speedup:.2f}× the plain pipeline's steps/s (goal ≥ 1.3× on a GPU)")
    if args.compile and device.type == "cuda":
        image_eager = run_ours(ours)().image
        ours = None
        torch.cuda.empty_cache()
        compiled = diffusion.load_img2img(model, device, compile_unet=True)
        first = first_image_seconds(device, run_ours(compiled))
        fast = timed(label + "+compile", device, run_ours(compiled), unet_steps, args.repeats)
        image_compiled = run_ours(compiled)().image
        diff = np.abs(np.asarray(image_eager, np.int16) - np.asarray(image_compiled, np.int16))
        print(f"first image with torch.compile on a warm server (the compile included): {first:.1f} s")
        print(
            f"compile speed-up: {fast['steps_per_s'] / reference['steps_per_s']:.2f}× the plain pipeline's "
            f"steps/s, {fast['steps_per_s'] / mine['steps_per_s']:.2f}× ours uncompiled (goal ≥ 3× plain)"
        )
        print(f"same seed, compiled vs not: mean pixel difference {diff.mean():.2f}/255, max {diff.max()}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
