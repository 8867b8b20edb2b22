"""A diffusion model you can train: a class-conditional DDPM on MNIST, built from diffusers' own parts.

The same algorithm as Stable Diffusion, minus the VAE and the text encoder: the UNet denoises 28×28
pixels instead of 64×64 latents, and it is told a class label (0..9) instead of a prompt. Classifier-free
guidance works the same way: during training the label is dropped (replaced by the extra "no label"
class 10) for a fraction of the images, so one UNet learns both the conditional and the unconditional
noise; sampling pushes the prediction away from the unconditional one. The step arithmetic (how many
steps run, from which timestep) is core.diffusion's, shared with the SD page.

    unet, meta = train(DDPMConfig(steps=3000))                     # minutes on 2 CPU cores
    out = sample(unet, label=3, steps=50, scheduler="ddim", guidance=3.0, seed=0)
    out.images                                                     # (1, 28, 28) in [0, 1]
    out.x0[k], out.xt[k]                                           # what step k predicted / produced
    out = sample(unet, label=8, init=drawing, strength=0.7)        # img2img from a uint8 (28, 28)

Anchor: diffusers' "Train a diffusion model" tutorial (UNet2DModel + DDPMScheduler, MSE on the noise).
"""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from core import diffusion
from core.errors import UserError
from core.images import mosaic, zoom
from core.storage import atomic_write_bytes, cache_dir

MODEL_NAME = "ddpm"
NUM_CLASSES = 10
NULL_CLASS = NUM_CLASSES  # the extra label meaning "no label": the unconditional model
SCHEDULER_NAMES = ("ddpm", "ddim", "pndm")
# The training noise schedule (DDPM, Ho et al. 2020): 1000 steps, β linear from 1e-4 to 0.02. Every
# sampling scheduler is built from this one config, as SD-1.5's are from its scheduler_config.json.
SCHEDULER_CONFIG: dict[str, Any] = dict(
    num_train_timesteps=1000,
    beta_start=0.0001,
    beta_end=0.02,
    beta_schedule="linear",
    clip_sample=True,  # DDPM/DDIM clamp x̂₀ to [-1, 1]: pixels, unlike latents, have a known range
    set_alpha_to_one=True,
    skip_prk_steps=True,  # PNDM: plain PLMS steps, as SD-1.5 runs it
    steps_offset=0,
    timestep_spacing="trailing",  # the first step is t = 999, pure noise (Lin et al. 2024); SD uses "leading"
    prediction_type="epsilon",
)
MAX_STEPS = 1000
# The page's contact sheet: every strength, four guidance scales, 20 steps a cell at first.
SHEET = diffusion.SheetSpec(
    strengths=(0.2, 0.4, 0.6, 0.8, 1.0),
    guidances=(0.0, 1.0, 3.0, 5.0, 7.0, 10.0),
    max_steps=MAX_STEPS,
    rows=(0.2, 0.4, 0.6, 0.8, 1.0),
    cols=(0.0, 1.0, 3.0, 7.0),
    steps=20,
)
MAX_SAMPLES = 400
CPU_MINUTES = 15  # default run, 2 idle cores: ~0.5 CPU-s per step of 64 (CPU time, on a busy machine)


@dataclass
class DDPMConfig:
    """The UNet's size and the training run. Defaults: 264 k parameters, ~15 min on 2 idle CPU cores."""

    dataset: str = "mnist"  # "mnist" | "fashion"
    channels: tuple[int, ...] = (16, 32, 32)  # block_out_channels: 28×28 → 14×14 → 7×7
    layers_per_block: int = 1  # ResNets per down block (up blocks get one more)
    norm_groups: int = 8  # GroupNorm groups; must divide every channel count
    steps: int = 3000  # optimizer steps
    batch_size: int = 64
    lr: float = 2e-3  # AdamW peak rate: linear warm-up, then cosine decay to 0
    warmup: int = 100
    label_dropout: float = 0.1  # the fraction trained with NULL_CLASS: classifier-free guidance
    train_subset: int = 60_000
    seed: int = 0  # weights, batches, timesteps and noise
    device: str = "auto"  # auto | cpu | cuda | mps
    log_every: int = 20  # steps between progress reports


# --- the model ----------------------------------------------------------------------------------


def unet_config(config: DDPMConfig) -> dict[str, Any]:
    """The diffusers UNet2DModel config for `config`: 1 channel in and out, 11 class embeddings."""
    levels = len(config.channels)
    return dict(
        sample_size=28,
        in_channels=1,
        out_channels=1,  # the predicted noise ε, same shape as the image
        block_out_channels=tuple(config.channels),
        layers_per_block=config.layers_per_block,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        add_attention=True,  # self-attention in the middle block only (7×7 = 49 positions: cheap)
        attention_head_dim=8,
        norm_num_groups=config.norm_groups,
        num_class_embeds=NUM_CLASSES + 1,  # the label's embedding is added to the timestep's
    )


def check_config(config: DDPMConfig) -> None:
    """Raise a teaching UserError for a UNet or a run that cannot work."""
    if not config.channels or any(c % config.norm_groups for c in config.channels):
        raise UserError(
            f"Every channel count {tuple(config.channels)} must be a multiple of the {config.norm_groups} "
            "GroupNorm groups.",
            f"每个通道数 {tuple(config.channels)} 都必须是 GroupNorm 组数 {config.norm_groups} 的倍数。",
        )
    if 28 % 2 ** (len(config.channels) - 1):
        raise UserError(
            f"{len(config.channels)} levels halve 28 pixels {len(config.channels) - 1} times, which does not "
            "divide evenly; use at most 3 levels (28 → 14 → 7).",
            f"{len(config.channels)} 层会把 28 像素减半 {len(config.channels) - 1} 次，无法整除；"
            "最多使用 3 层（28 → 14 → 7）。",
        )
    if config.steps < 1 or config.batch_size < 1:
        raise UserError(
            "Train for at least one step of at least one image.", "至少训练 1 步、每步至少 1 张图。"
        )
    if not 0.0 <= config.label_dropout < 1.0:
        raise UserError(
            f"The label dropout is a fraction in [0, 1) (got {config.label_dropout}).",
            f"标签丢弃率是 [0, 1) 之间的比例（当前为 {config.label_dropout}）。",
        )


def build_unet(config: DDPMConfig | None = None, seed: int | None = None) -> nn.Module:
    """A fresh diffusers UNet2DModel: (B, 1, 28, 28) noisy image, (B,) t, (B,) label -> (B, 1, 28, 28) ε̂."""
    from diffusers import UNet2DModel

    config = config or DDPMConfig()
    check_config(config)
    state = torch.random.get_rng_state()
    torch.manual_seed(config.seed if seed is None else seed)
    try:
        return UNet2DModel(**unet_config(config))
    finally:
        torch.random.set_rng_state(state)  # leave the caller's random stream untouched


def count_parameters(unet: nn.Module) -> int:
    return sum(p.numel() for p in unet.parameters())


def make_scheduler(name: str = "ddim") -> Any:
    """A fresh diffusers scheduler ("ddpm", "ddim", "pndm") on the training noise schedule."""
    if name == "ddpm":  # core.diffusion.make_scheduler knows SD's three (pndm, ddim, euler)
        from diffusers import DDPMScheduler

        return DDPMScheduler.from_config(dict(SCHEDULER_CONFIG))
    if name not in SCHEDULER_NAMES:
        raise UserError(
            f"Unknown scheduler '{name}'; choose one of {', '.join(SCHEDULER_NAMES)}.",
            f"未知的调度器“{name}”；可选：{'、'.join(SCHEDULER_NAMES)}。",
        )
    return diffusion.make_scheduler(name, SCHEDULER_CONFIG)


# --- pixels ---------------------------------------------------------------------------------------


def to_model(x: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 28, 28) -> float (..., 1, 28, 28) in [-1, 1], the range the model is trained on."""
    return (x.float() / 127.5 - 1.0).unsqueeze(-3)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model range (..., 1, 28, 28) in [-1, 1] -> (..., 28, 28) in [0, 1] for display, on the CPU."""
    return ((x.detach().float().cpu() + 1) / 2).clamp(0, 1).squeeze(-3)


def add_noise(x0: torch.Tensor, timestep: int, seed: int = 0) -> torch.Tensor:
    """Forward noising with the real scheduler: x0 (..., 1, 28, 28) -> x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε."""
    sched = make_scheduler("ddpm")
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    return sched.add_noise(x0, noise, torch.tensor([int(timestep)]))


# --- training -------------------------------------------------------------------------------------


def lr_at(step: int, config: DDPMConfig) -> float:
    """Linear warm-up for `warmup` steps, then cosine decay to 0 at `steps`."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    done = (step - config.warmup) / max(1, config.steps - config.warmup)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))


def train(
    config: DDPMConfig | None = None,
    report: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: Any = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a class-conditional DDPM on data.train_x (N, 28, 28) -> (CPU eval UNet, meta).

    A `work(report, should_stop)` for core.jobs.BackgroundJob once the config is bound. Each step:
    x_t = add_noise(x_0, ε, t) for a random t, the label dropped to NULL_CLASS with probability
    `label_dropout`, loss = MSE(ε̂(x_t, t, label), ε) (Ho et al. 2020, eq. 14; Ho & Salimans 2022).
    """
    from core.data import load
    from core.device import pick_device
    from core.train import on_device

    # 1. Check inputs, data and device
    config = config or DDPMConfig()
    check_config(config)
    data = data if data is not None else load(config.dataset)
    device = pick_device(config.device)
    train_x, train_y, _, _ = on_device(data, device)
    train_x, train_y = train_x[: config.train_subset], train_y[: config.train_subset]

    # 2. Model, optimizer, noise schedule
    unet = build_unet(config).to(device).train()
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.lr, weight_decay=0.0)
    noise_scheduler = make_scheduler("ddpm")
    T = noise_scheduler.config.num_train_timesteps
    generator = torch.Generator().manual_seed(config.seed)  # on the CPU: the same run on every device

    # 3. The loop
    start, loss_sum, seen, step = time.perf_counter(), 0.0, 0, 0
    losses: list[float] = []
    for step in range(config.steps):
        if should_stop is not None and should_stop():
            break
        index = torch.randint(0, len(train_x), (config.batch_size,), generator=generator)
        x0 = to_model(train_x[index.to(train_x.device)]).to(device)  # (B, 1, 28, 28) in [-1, 1]
        labels = train_y[index.to(train_y.device)].to(device)  # (B,)
        drop = torch.rand(config.batch_size, generator=generator) < config.label_dropout
        labels = torch.where(drop.to(device), torch.full_like(labels, NULL_CLASS), labels)
        t = torch.randint(0, T, (config.batch_size,), generator=generator).to(device)  # (B,)
        noise = torch.randn(x0.shape, generator=generator).to(device)  # ε, (B, 1, 28, 28)
        xt = noise_scheduler.add_noise(x0, noise, t)  # √ᾱ_t·x0 + √(1-ᾱ_t)·ε
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, config)
        loss = F.mse_loss(unet(xt, t, class_labels=labels).sample, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += float(loss.detach())
        seen += config.batch_size
        if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
            losses.append(loss_sum / ((step % config.log_every) + 1))
            loss_sum = 0.0
            if report is not None:
                report(
                    {
                        "progress": (step + 1) / config.steps,
                        "step": step + 1,
                        "total": config.steps,
                        "loss": losses[-1],
                        "lr": lr_at(step, config),
                        "images": seen,
                        "seconds": time.perf_counter() - start,
                    }
                )
    meta = {
        "config": {**asdict(config), "channels": list(config.channels)},
        "steps_done": step + 1 if seen else 0,
        "images": seen,
        "seconds": time.perf_counter() - start,
        "final_loss": losses[-1] if losses else float("nan"),
        "losses": losses,
        "device": str(device),
    }
    return unet.cpu().eval(), meta


# --- sampling: from noise, or img2img from an image ----------------------------------------------


@dataclass
class SampleResult:
    images: torch.Tensor  # (n, 28, 28) in [0, 1]: the final samples
    timesteps: list[int]  # the timesteps that really ran (one UNet call with guidance each)
    start: torch.Tensor  # (28, 28) in [0, 1]: sample 0's starting x_t (pure noise, or the noised image)
    xt: torch.Tensor  # (S, 28, 28) in [0, 1]: sample 0's x_t after each of the S steps
    x0: torch.Tensor  # (S, 28, 28): the guided prediction x̂₀ at each step
    x0_cond: torch.Tensor  # (S, 28, 28): x̂₀ from the conditional noise alone (guidance 1)
    x0_uncond: torch.Tensor  # (S, 28, 28): x̂₀ from the unconditional noise alone (guidance 0)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def check_sample(steps: int, strength: float, guidance: float, n: int) -> None:
    """Raise a teaching UserError for settings sampling cannot run."""
    if not 1 <= steps <= MAX_STEPS:
        raise UserError(
            f"Use between 1 and {MAX_STEPS} steps (got {steps}): the model was trained on {MAX_STEPS}.",
            f"步数须在 1 到 {MAX_STEPS} 之间（当前为 {steps}）：模型按 {MAX_STEPS} 步训练。",
        )
    if not 1 <= n <= MAX_SAMPLES:
        raise UserError(
            f"Ask for between 1 and {MAX_SAMPLES} samples (got {n}).",
            f"采样数量须在 1 到 {MAX_SAMPLES} 之间（当前为 {n}）。",
        )
    diffusion.check_settings(steps, strength, guidance)


def guided_noise(
    unet: nn.Module, x: torch.Tensor, t: torch.Tensor | int, labels: torch.Tensor, guidance: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (B, 1, 28, 28), labels (B,) -> (guided, conditional, unconditional) ε̂, each (B, 1, 28, 28).

    One UNet call on the doubled batch [labels, NULL_CLASS]; guided = ε̂_c + (w-1)(ε̂_c - ε̂_u), which is
    ε̂_u + w(ε̂_c - ε̂_u) (Ho & Salimans 2022) written so that w = 1 gives ε̂_c exactly.
    """
    both = unet(
        torch.cat([x, x]), t, class_labels=torch.cat([labels, torch.full_like(labels, NULL_CLASS)])
    ).sample  # (2B, 1, 28, 28)
    cond, uncond = both.chunk(2)
    return cond + (guidance - 1.0) * (cond - uncond), cond, uncond


def predicted_x0(xt: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """What the model thinks the clean image is now: x̂₀ = (x_t - √(1-ᾱ_t)·ε̂) / √ᾱ_t."""
    return (xt - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


@torch.inference_mode()
def sample(
    unet: nn.Module,
    label: int | torch.Tensor = 0,
    steps: int = 50,
    scheduler: str = "ddim",
    guidance: float = 3.0,
    seed: int = 0,
    n: int = 1,
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    on_step: Callable[[int, int, int], None] | None = None,
) -> SampleResult:
    """n images of class `label` (int or (n,) labels) from noise, or from `init` uint8 (28, 28) (img2img).

    Numbered as diffusers' img2img pipeline. Same seed and settings -> the same images.
    """
    start_time = time.perf_counter()
    # 1. Check inputs
    if init is None:
        strength = 1.0  # from pure noise: every step runs
    elif not bool((init > 0).any()):
        raise UserError(
            "The drawing is empty: draw a digit (white on black) to start from, or sample from noise.",
            "画布是空的：请画一个数字（黑底白字）作为起点，或者从纯噪声采样。",
        )
    check_sample(steps, strength, guidance, n)
    device = next(unet.parameters()).device
    labels = torch.as_tensor(label).long().flatten()
    labels = (labels.expand(n) if labels.numel() == 1 else labels).to(device)
    if labels.shape != (n,) or not bool(((labels >= 0) & (labels < NUM_CLASSES)).all()):
        raise UserError(
            f"Labels are {n} class numbers from 0 to 9.", f"标签应为 {n} 个 0 到 9 之间的类别编号。"
        )
    generator = torch.Generator().manual_seed(int(seed))  # on the CPU: the same noise on every device

    # 2. Set timesteps: the same arithmetic the SD page shows (skip steps - int(steps × strength))
    sched = make_scheduler(scheduler)
    timesteps = diffusion.timesteps_run(steps, strength, sched)
    sched.set_timesteps(steps)
    begin = len(sched.timesteps) - len(timesteps)
    if hasattr(sched, "set_begin_index"):
        sched.set_begin_index(begin)

    # 3. The starting point: pure noise, or the image noised to the first timestep
    noise = torch.randn((n, 1, 28, 28), generator=generator)
    if init is None:
        x = noise * sched.init_noise_sigma
    else:
        x0 = to_model(init.reshape(28, 28)).expand(n, 1, 28, 28)
        x = sched.add_noise(x0, noise, torch.tensor(timesteps[:1]))
    x = x.to(device)
    start = to_unit(x[0])

    # 4. Denoise: the UNet predicts ε, guidance pushes it toward the label
    alphas = sched.alphas_cumprod.to(device)
    step_kwargs = {"generator": generator} if "generator" in inspect.signature(sched.step).parameters else {}
    trace: dict[str, list[torch.Tensor]] = {"xt": [], "x0": [], "x0_cond": [], "x0_uncond": []}
    for i, t in enumerate(timesteps):
        model_input = sched.scale_model_input(x, t)
        eps, cond, uncond = guided_noise(unet, model_input, t, labels, guidance)
        a = alphas[t]
        for name, e in (("x0", eps), ("x0_cond", cond), ("x0_uncond", uncond)):
            trace[name].append(to_unit(predicted_x0(x[:1], e[:1], a)[0]).clamp(0, 1))
        x = sched.step(eps, t, x, **step_kwargs, return_dict=False)[0]
        trace["xt"].append(to_unit(x[0]))
        if on_step is not None:
            on_step(i, len(timesteps), t)

    settings = dict(
        label=[int(v) for v in labels.cpu()],
        steps=steps,
        scheduler=type(sched).__name__,
        guidance=guidance,
        seed=seed,
        strength=strength,
        img2img=init is not None,
        steps_run=len(timesteps),
        start_timestep=timesteps[0],
    )
    return SampleResult(
        images=to_unit(x),
        timesteps=timesteps,
        start=start,
        **{k: torch.stack(v) for k, v in trace.items()},
        settings=settings,
        seconds=time.perf_counter() - start_time,
    )


def step_plan(steps: int, strength: float, scheduler: str = "ddim") -> diffusion.StepPlan:
    """What img2img will run, for the page to show: core.diffusion.step_plan (SD's arithmetic) on this
    model's scheduler, the very timesteps `sample` runs."""
    check_sample(steps, strength, 1.0, 1)
    return diffusion.step_plan(steps, strength, make_scheduler(scheduler))


def contact_sheet(
    unet: nn.Module,
    init: torch.Tensor,
    label: int,
    strengths: list[float],
    guidances: list[float],
    steps: int = 20,
    scheduler: str = "ddim",
    seed: int = 0,
    report: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> torch.Tensor | None:
    """img2img of `init` uint8 (28, 28) over a strength × guidance grid, one seed -> (R, C, 28, 28).

    Each cell is exactly `sample(..., init=init, strength=s, guidance=g)`; the grid is
    core.diffusion.sheet_runs, as on the SD page. None when stopped.
    """
    for s in strengths:
        check_sample(steps, s, max(guidances, default=1.0), 1)

    def cell(strength: float, guidance: float) -> torch.Tensor:
        return sample(unet, label, steps, scheduler, guidance, seed, init=init, strength=strength).images[0]

    sheet = diffusion.sheet_runs(cell, strengths, guidances, report, should_stop)
    return None if sheet is None else torch.stack([torch.stack(row) for row in sheet])


def pictures(images: torch.Tensor | list[torch.Tensor], factor: int = 1) -> list[np.ndarray]:
    """(N, 28, 28) in [0, 1] -> N uint8 (28·factor, 28·factor) pictures, enlarged with square pixels."""
    return [zoom((np.asarray(x) * 255).round().astype(np.uint8), factor) for x in images]


def grid(images: torch.Tensor, pad: int = 2, scale: int = 1) -> torch.Tensor:
    """(R, C, 28, 28) in [0, 1] -> one uint8 (H, W) mosaic with `pad` grey pixels between and around cells."""
    r, c, h, w = images.shape
    grey = round(0.35 * 255)
    cells = (images.reshape(r * c, h, w) * 255).round().to(torch.uint8).numpy()  # (R·C, 28, 28)
    framed = np.pad(mosaic(cells, c, gap=pad, fill=grey), pad, constant_values=grey)
    return torch.from_numpy(zoom(framed, scale))


# --- checkpoints: safetensors (never pickle), cached on disk with atomic writes -------------------


def save_unet(unet: nn.Module, meta: dict[str, Any] | None = None) -> bytes:
    """The UNet's weights as safetensors bytes; metadata holds "model": "ddpm", its config and `meta`."""
    config = {k: v for k, v in dict(unet.config).items() if not k.startswith("_")}
    meta = {**(meta or {}), "model": MODEL_NAME, "unet_config": config}
    state = {k: v.detach().cpu().contiguous() for k, v in unet.state_dict().items()}
    return st_save(state, metadata={k: json.dumps(v, ensure_ascii=False) for k, v in meta.items()})


def load_unet(data: bytes) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the UNet from `save_unet` bytes -> (eval UNet on the CPU, meta); anything else -> UserError."""
    from diffusers import UNet2DModel

    from core.checkpoint import read_metadata

    meta = read_metadata(data)  # refuses pickles and truncated headers with a teaching sentence
    config = meta.get("unet_config")
    if meta.get("model") != MODEL_NAME or not isinstance(config, dict):
        raise UserError(
            "This weights file does not hold a diffusion UNet from this app.",
            "这个权重文件里不是本应用保存的扩散 UNet。",
        )
    try:
        unet = UNet2DModel.from_config(config)
        unet.load_state_dict(st_load(data), strict=True)
    except (SafetensorError, ValueError, RuntimeError, TypeError) as err:
        raise UserError(
            "The diffusion UNet's weights are damaged or do not fit its config.",
            "扩散 UNet 的权重已损坏，或与其配置不匹配。",
        ) from err
    return unet.eval(), meta


def checkpoint_path(dataset: str = "mnist") -> Path:
    """Where the cached model for `dataset` lives: cache_dir("ddpm")/<dataset>.safetensors."""
    return cache_dir("ddpm") / f"{dataset}.safetensors"


def save_cached(unet: nn.Module, meta: dict[str, Any]) -> Path:
    """Write the checkpoint for meta's dataset atomically (never half a file); returns its path."""
    dataset = meta.get("config", {}).get("dataset", "mnist")
    return atomic_write_bytes(checkpoint_path(dataset), save_unet(unet, meta))


def load_cached(dataset: str = "mnist") -> tuple[nn.Module, dict[str, Any]] | None:
    """The cached model for `dataset`, or None when there is none (a damaged file also counts as none)."""
    path = checkpoint_path(dataset)
    if not path.exists():
        return None
    try:
        return load_unet(path.read_bytes())
    except (UserError, OSError):
        return None


def prepare_default(log: Callable[[str], None] = print, config: DDPMConfig | None = None) -> str:
    """`make prepare`: train and cache the default MNIST model unless a full one is cached."""
    config = config or DDPMConfig()
    cached = load_cached(config.dataset)
    if cached is not None and cached[1].get("steps_done", 0) >= config.steps:
        return f"{config.dataset}: cached ({checkpoint_path(config.dataset)})"

    def report(r: dict[str, Any]) -> None:
        if r["step"] % (config.log_every * 25) == 0:
            log(f"  ddpm step {r['step']}/{config.steps}: loss {r['loss']:.4f} ({r['seconds']:.0f} s)")

    unet, meta = train(config, report)
    path = save_cached(unet, meta)
    return f"{config.dataset}: loss {meta['final_loss']:.4f} after {meta['seconds']:.0f} s ({path})"


# --- judging the samples with the trainer's own classifier --------------------------------------


def judge(dataset: str = "mnist", train_subset: int = 20_000) -> nn.Module:
    """The trainer's two_layer_cnn, trained one epoch on `train_subset` images (cached): the digit judge."""
    from core.checkpoint import load_checkpoint_file, save_checkpoint_file
    from core.data import load
    from core.models import build_seeded
    from core.train import TrainConfig, fit

    path = cache_dir("ddpm") / f"judge_{dataset}_two_layer_cnn.safetensors"
    if path.exists():
        try:
            return load_checkpoint_file(path)[0]
        except (UserError, OSError):
            pass
    model = build_seeded("two_layer_cnn", 0)
    history = fit(model, load(dataset), TrainConfig(epochs=1, train_subset=train_subset, device="cpu"))
    save_checkpoint_file(path, model, {"test_acc": history.epochs[-1].get("test_acc", float("nan"))})
    return model.cpu().eval()


@torch.inference_mode()
def classify(judge_model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """images (N, 28, 28) in [0, 1] -> the judge's predicted classes (N,)."""
    from core.data import normalize

    x = (images * 255).round().to(torch.uint8)  # the judge sees what a PNG of the sample would hold
    return judge_model.eval()(normalize(x.cpu())).argmax(dim=1)


def class_accuracy(
    unet: nn.Module,
    judge_model: nn.Module,
    guidance: float,
    per_class: int = 10,
    steps: int = 50,
    scheduler: str = "ddim",
    seed: int = 0,
) -> float:
    """Fraction of 10 × per_class samples (each digit asked per_class times) judged as the asked digit."""
    labels = torch.arange(NUM_CLASSES).repeat_interleave(per_class)  # (10·per_class,)
    out = sample(unet, labels, steps, scheduler, guidance, seed, n=len(labels))
    return float((classify(judge_model, out.images) == labels).float().mean())


# --- the UNet's blocks, for the UNet inspector -----------------------------------------------------


def describe_unet(unet: nn.Module | None = None, batch: int = 1, guidance: bool = True) -> list:
    """One core.unet.BlockRow per top-level block (conv_in, time+class embedding, down, mid, up, out).

    Shapes come from one forward pass on zeros with forward hooks; guidance doubles the batch. No skip
    connections or cross-attention are listed (this UNet has no text, hence no cross-attention).
    """
    from core.unet import BlockRow, Part

    unet = unet if unet is not None else build_unet()
    layout: list[tuple[str, str, list[tuple[str, nn.Module]]]] = [
        ("conv_in", "in", [("conv_in", unet.conv_in)]),
        (
            "time_embedding",
            "time",
            [
                ("time_proj", unet.time_proj),
                ("time_embedding", unet.time_embedding),
                ("class_embedding", unet.class_embedding),
            ],
        ),
    ]
    for kind, blocks in (("down", unet.down_blocks), ("mid", [unet.mid_block]), ("up", unet.up_blocks)):
        for i, block in enumerate(blocks):
            name = "mid_block" if kind == "mid" else f"{kind}_blocks.{i}"
            parts = []
            for child_name, child in block.named_children():
                items = enumerate(child) if isinstance(child, nn.ModuleList) else [(None, child)]
                parts += [(child_name if j is None else f"{child_name}.{j}", m) for j, m in items]
            layout.append((name, kind, parts))
    layout.append(
        ("conv_out", "out", [(n, getattr(unet, n)) for n in ("conv_norm_out", "conv_act", "conv_out")])
    )

    shapes: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        x = kwargs.get("hidden_states", args[0] if args else None)
        y = output[0] if isinstance(output, tuple) else output
        shapes[id(module)] = (
            tuple(x.shape) if isinstance(x, torch.Tensor) else (),
            tuple(y.shape) if isinstance(y, torch.Tensor) else (),
        )

    modules = [unet.get_submodule(n) for n, k, _ in layout if k in ("down", "mid", "up")]
    modules += [m for _, _, parts in layout for _, m in parts]
    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in modules]
    b = batch * (2 if guidance else 1)
    try:
        with torch.no_grad():
            p = next(unet.parameters())
            x = torch.zeros(b, 1, 28, 28, device=p.device, dtype=p.dtype)
            unet(
                x,
                torch.full((b,), 999, device=p.device),
                class_labels=torch.zeros(b, dtype=torch.long, device=p.device),
            )
    finally:
        for h in handles:
            h.remove()
    rows = []
    for name, kind, parts in layout:
        part_rows = tuple(
            Part(n, type(m).__name__, shapes.get(id(m), ((), ()))[1], count_parameters(m)) for n, m in parts
        )
        if kind in ("down", "mid", "up"):
            block = unet.get_submodule(name)
            cls, (in_shape, out_shape) = type(block).__name__, shapes[id(block)]
        else:
            cls = type(parts[-1][1] if kind == "out" else unet.time_embedding).__name__
            in_shape = (b,) if kind == "time" else shapes[id(parts[0][1])][0]
            out_shape = part_rows[-1].out_shape
        level = 0 if kind == "time" else round(math.log2(28 / in_shape[2]))
        rows.append(
            BlockRow(name, kind, cls, in_shape, out_shape, sum(q.params for q in part_rows), part_rows, level)
        )
    return rows
