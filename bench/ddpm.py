"""MNIST diffusion benchmark (issue #18): sampling speed beside diffusers' own loop, and class accuracy.

1. One 28×28 sample, 50 DDIM steps, guidance 3 (a batch of 2 per step): `core.ddpm.sample` beside the
   same loop written the way diffusers' `DDIMPipeline.__call__` writes it (plus the class labels and
   classifier-free guidance that pipeline lacks), same model, same run. Goal: ≤ 2 s on 2 CPU cores.
2. The cached checkpoint's samples judged by the trainer's own two_layer_cnn: 100 samples (10 of each
   digit) at guidance 1 (the conditional model alone, no guidance) and at guidance ≥ 2, with the page's
   default scheduler (DDPM) and with DDIM beside it. Goal: ≥ 90 %.

    python bench/ddpm.py                  # the cached checkpoint (make prepare), else train it first
    python bench/ddpm.py --guidance 3 --per-class 10 --steps 50
    python bench/ddpm.py --speed-only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import ddpm  # noqa: E402

GOAL_SECONDS = 2.0
GOAL_ACCURACY = 0.90


@torch.inference_mode()
def diffusers_style_loop(unet, label: int, steps: int, guidance: float, seed: int) -> torch.Tensor:
    """diffusers' DDIMPipeline.__call__ (eta 0), with class labels and CFG added -> (1, 28, 28) in [0, 1]."""
    scheduler = ddpm.make_scheduler("ddim")
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn((1, 1, 28, 28), generator=generator)  # randn_tensor(shape, generator)
    scheduler.set_timesteps(steps)
    labels = torch.tensor([label, ddpm.NULL_CLASS])
    for t in scheduler.timesteps:
        cond, uncond = unet(torch.cat([image] * 2), t, class_labels=labels).sample.chunk(2)
        model_output = uncond + guidance * (cond - uncond)
        image = scheduler.step(model_output, t, image, eta=0.0, generator=generator).prev_sample
    return (image / 2 + 0.5).clamp(0, 1)[:, 0]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--schedulers", default="ddpm,ddim", help="the first one is judged against the goal")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--grid-dir", default="", help="save each guidance's 10 × per-class samples as a PNG")
    args = parser.parse_args()
    print(
        f"torch threads: {torch.get_num_threads()}, CPU cores: {len(__import__('os').sched_getaffinity(0))}"
    )

    cached = ddpm.load_cached(args.dataset)
    if cached is None:
        print(f"no cached checkpoint at {ddpm.checkpoint_path(args.dataset)}: training the default one")
        print(ddpm.prepare_default())
        cached = ddpm.load_cached(args.dataset)
    unet, meta = cached
    print(
        f"model: {ddpm.count_parameters(unet):,} parameters, {meta.get('steps_done')} steps "
        f"({meta.get('seconds', 0):.0f} s on {meta.get('device', '?')}), "
        f"final loss {meta.get('final_loss'):.4f}"
    )

    # 1. Speed: one sample, 50 DDIM steps with guidance, ours beside diffusers' loop
    ours = ddpm.sample(unet, 3, args.steps, "ddim", args.guidance, seed=0).images
    theirs = diffusers_style_loop(unet, 3, args.steps, args.guidance, seed=0)
    same = (ours - theirs).abs().max().item()
    t_ours = best_of(lambda: ddpm.sample(unet, 3, args.steps, "ddim", args.guidance, seed=0), args.repeats)
    t_ref = best_of(lambda: diffusers_style_loop(unet, 3, args.steps, args.guidance, seed=0), args.repeats)
    print(
        f"one sample, {args.steps} DDIM steps, guidance {args.guidance:g}: core.ddpm.sample {t_ours:.2f} s, "
        f"diffusers-style loop {t_ref:.2f} s (best of {args.repeats}); max pixel difference {same:.2e}; "
        f"goal ≤ {GOAL_SECONDS:g} s: {'MET' if t_ours <= GOAL_SECONDS else 'NOT MET'}"
    )
    if args.speed_only:
        return 0

    # 2. Class accuracy judged by the trainer's two_layer_cnn
    start = time.perf_counter()
    judge = ddpm.judge(args.dataset)
    print(f"judge: two_layer_cnn ({time.perf_counter() - start:.0f} s to load or train)")
    n = 10 * args.per_class
    labels = torch.arange(10).repeat_interleave(args.per_class)  # as ddpm.class_accuracy asks them
    rates = {}
    for name in args.schedulers.split(","):
        for w in (1.0, args.guidance):
            start = time.perf_counter()
            images = ddpm.sample(unet, labels, args.steps, name, w, seed=0, n=n).images
            rates[name, w] = float((ddpm.classify(judge, images) == labels).float().mean())
            if args.grid_dir:
                from PIL import Image

                path = Path(args.grid_dir) / f"ddpm_samples_{name}_w{w:g}.png"
                sheet = ddpm.grid(images.reshape(10, args.per_class, 28, 28), scale=2).numpy()
                Image.fromarray(sheet).save(path)
                print(f"  saved {path}")
            print(
                f"{name.upper()} {args.steps} steps, guidance {w:g}: {rates[name, w]:.0%} of {n} samples "
                f"judged as the asked digit ({time.perf_counter() - start:.0f} s)"
            )
    first = args.schedulers.split(",")[0]
    met = rates[first, args.guidance] >= GOAL_ACCURACY and args.guidance >= 2
    print(
        f"{first.upper()}: guided (w = {args.guidance:g}) {rates[first, args.guidance]:.0%} beside unguided "
        f"(w = 1) {rates[first, 1.0]:.0%}; goal ≥ {GOAL_ACCURACY:.0%} at w ≥ 2: {'MET' if met else 'NOT MET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
