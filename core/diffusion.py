"""Stable Diffusion img2img, step by step: the homework's "fantasy landscape", and why strength matters.

The homework passed a photo to the text-to-image pipeline, which ignores it. Image-to-image starts
from the photo instead of pure noise: it encodes the photo into the VAE's latent space, adds the noise
of timestep t_start (strength picks t_start), and denoises only from there. `run_img2img` is that
recipe written out, numbered the way diffusers writes `StableDiffusionImg2ImgPipeline.__call__`, on the
real pipeline's components (a test checks it gives the pipeline's own image).

Without weights, the scheduler alone still teaches: `make_scheduler` builds SD-1.5's real scheduler
from its configuration, `kept_steps` / `timesteps_run` give the step arithmetic, `forward_noise`
shows the noisy starting point, `noise_schedule` the ᾱ_t curve.
"""

from __future__ import annotations

import inspect
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, PngImagePlugin

from core.errors import UserError
from core.limits import LIMITS

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
HUB_HOST = "huggingface.co"
HOMEWORK_PROMPT = "A fantasy landscape, trending on artstation"  # the homework's (seed 000)
CLIP_MAX_TOKENS = 77  # CLIP's context, <|startoftext|> and <|endoftext|> included; the rest is cut off
# SD-1.5's scheduler/scheduler_config.json: PNDM, "scaled_linear" betas, 1000 training timesteps.
SD15_SCHEDULER_CONFIG: dict[str, Any] = dict(
    _class_name="PNDMScheduler",
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    num_train_timesteps=1000,
    set_alpha_to_one=False,
    skip_prk_steps=True,
    steps_offset=1,
    trained_betas=None,
)
SCHEDULERS = {"pndm": "PNDMScheduler", "ddim": "DDIMScheduler", "euler": "EulerDiscreteScheduler"}
SIDES = (128, 256, 384, 512, 640, 768)  # the longer side of a generated image, in pixels (multiples of 8)
SKETCH = Path(__file__).resolve().parent.parent / "assets" / "sd" / "mountain_sketch.png"
Report = Callable[[dict[str, Any]], None]  # core.jobs' progress callback: a dict with "progress" in 0..1
# The widely used linear map from SD-1.x's 4 latent channels to RGB (as in ComfyUI's previewer):
# rgb ≈ latent @ LATENT_RGB_FACTORS, roughly in [-1, 1]. 3 multiply-adds a pixel instead of a VAE decode.
LATENT_RGB_FACTORS = torch.tensor(
    [
        #   R        G        B
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ]
)


@dataclass(frozen=True)
class Img2ImgSettings:
    """What one img2img run needs besides the pipeline and the image; defaults are the homework's (seed 000).

    `run_img2img(pipe, image, **asdict(settings), seed=0)` runs it.
    """

    prompt: str = HOMEWORK_PROMPT
    negative_prompt: str = ""  # "" is the unconditional prompt classifier-free guidance pushes away from
    strength: float = 0.75
    guidance_scale: float = 7.5
    steps: int = 50
    scheduler: str = "pndm"


@dataclass(frozen=True)
class SheetSpec:
    """A strength × guidance contact sheet's controls: what a student may pick and what is picked at first
    (both diffusion pages; ui/img2img.sheet_ui draws them)."""

    strengths: tuple[float, ...]  # the rows to choose from
    guidances: tuple[float, ...]  # the columns to choose from
    max_steps: int  # the most denoising steps a cell may run
    rows: tuple[float, ...]  # the strengths picked at first
    cols: tuple[float, ...]  # the guidance scales picked at first
    steps: int  # steps per cell at first


# The SD page's sheet: 3 × 3 cells of 20 steps at first (MAX_SD_STEPS caps the steps on a hosted server).
SHEET = SheetSpec(
    strengths=(0.3, 0.5, 0.75, 0.9, 1.0),
    guidances=(1.0, 3.0, 7.5, 12.0),
    max_steps=LIMITS.max_sd_steps,
    rows=(0.5, 0.75, 1.0),
    cols=(1.0, 7.5, 12.0),
    steps=min(20, LIMITS.max_sd_steps),
)


# --- the scheduler alone: step arithmetic, noise schedule, forward noising (no weights needed) -----


def make_scheduler(name: str = "pndm", config: dict[str, Any] | None = None) -> Any:
    """A fresh diffusers scheduler `name` ("pndm", "ddim", "euler") from SD-1.5's config (or `config`)."""
    import diffusers

    if name not in SCHEDULERS:
        raise UserError(
            f"Unknown scheduler '{name}'; choose one of {', '.join(SCHEDULERS)}.",
            f"未知的调度器“{name}”；可选：{', '.join(SCHEDULERS)}。",
        )
    return getattr(diffusers, SCHEDULERS[name]).from_config(dict(config or SD15_SCHEDULER_CONFIG))


def check_settings(steps: int, strength: float, guidance_scale: float = 7.5) -> None:
    """Raise a teaching UserError for settings img2img cannot run."""
    if not 0.0 <= strength <= 1.0:
        raise UserError(
            f"Strength is a fraction of the schedule, between 0 and 1 (got {strength}).",
            f"强度是噪声调度的一个比例，应在 0 到 1 之间（当前为 {strength}）。",
        )
    if steps < 1:
        raise UserError("At least one denoising step is needed.", "至少需要 1 个去噪步。")
    if int(steps * strength) < 1:
        raise UserError(
            f"steps × strength = {steps} × {strength} = {steps * strength:.2f} rounds down to 0: no noise "
            "would be added and no step would run, so the output would be the input. Raise the strength "
            "or the number of steps.",
            f"步数 × 强度 = {steps} × {strength} = {steps * strength:.2f}，"
            f"向下取整为 0：不会加噪，也不会运行任何"
            "去噪步，输出就是输入。请提高强度或步数。",
        )
    if guidance_scale < 0:
        raise UserError(
            "The guidance scale cannot be negative (1 means no guidance).",
            "引导系数不能为负数（1 表示不使用引导）。",
        )


def kept_steps(steps: int, strength: float) -> int:
    """How many of the `steps`-step schedule img2img keeps: int(steps × strength) (diffusers' get_timesteps).

    The first `steps - kept_steps(...)` steps are skipped: 50 steps at strength 0.75 keep 37.
    """
    return min(int(steps * strength), steps)


def img2img_schedule(
    steps: int, strength: float, scheduler: Any, device: torch.device | str | None = None
) -> tuple[Any, torch.Tensor]:
    """A fresh copy of `scheduler` set to `steps` steps, and the timesteps img2img runs: (T_run,).

    The schedule skips its first `steps - kept_steps(steps, strength)` steps (each `scheduler.order`
    entries long). The copy never touches a shared pipeline's scheduler.
    """
    scheduler = type(scheduler).from_config(scheduler.config)
    scheduler.set_timesteps(steps, device=device)
    begin = (steps - kept_steps(steps, strength)) * scheduler.order
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(begin)
    return scheduler, scheduler.timesteps[begin:]


def timesteps_run(steps: int, strength: float, scheduler: Any) -> list[int]:
    """The timesteps img2img really denoises at, as `StableDiffusionImg2ImgPipeline.get_timesteps` picks them.

    PNDM (SD-1.5's default) repeats one timestep in its schedule, so it runs one step more than DDIM.
    """
    check_settings(steps, strength)
    return [int(t) for t in img2img_schedule(steps, strength, scheduler)[1]]


def steps_run(steps: int, strength: float, scheduler: Any) -> int:
    """How many UNet evaluations img2img really runs.

    PNDM 50 @ 0.75 -> 38 from t=741; DDIM -> 37 from t=721.
    """
    return len(timesteps_run(steps, strength, scheduler))


def noise_schedule(scheduler: Any) -> torch.Tensor:
    """ᾱ_t for t = 0..T-1, shape (T,): the fraction of the image's signal (variance) left at timestep t."""
    return scheduler.alphas_cumprod.detach().clone().float()


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image -> (1, 3, H, W) float in [-1, 1], the range the VAE expects."""
    x = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32).copy())  # (H, W, 3)
    return (x / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0)


def tensor_to_image(x: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) float in [-1, 1] -> RGB PIL image (rounded as diffusers rounds)."""
    x = x.detach().float().cpu().reshape(-1, *x.shape[-3:])[0]
    x = ((x / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)  # (3, H, W)
    return Image.fromarray(x.permute(1, 2, 0).numpy(), "RGB")


def forward_noise(image: Image.Image, timestep: int, scheduler: Any, seed: int = 0) -> Image.Image:
    """x_t = √ᾱ_t·x_0 + √(1-ᾱ_t)·ε with the real `scheduler.add_noise`, in PIXEL space (no VAE needed).

    The pipeline adds the same noise to the 4-channel latent (H/8 × W/8) instead; in pixels it shows
    how much of the picture survives at the start timestep. (1, 3, H, W) in, same size out.
    """
    x0 = image_to_tensor(image)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    xt = scheduler.add_noise(x0, noise, torch.tensor([int(timestep)]))
    return tensor_to_image(xt)


def sd_image_size(width: int, height: int, max_side: int, multiple: int = 8) -> tuple[int, int]:
    """(width, height) scaled so the longer side is at most `max_side`, both rounded down to `multiple`.

    SD's VAE halves the size three times (512 -> 64), so sides must be multiples of 8.
    """
    scale = min(1.0, max_side / max(width, height))
    w = max(multiple, int(width * scale) // multiple * multiple)
    h = max(multiple, int(height * scale) // multiple * multiple)
    return w, h


def max_side(device_type: str) -> int:
    """The longest image side this server generates on `device_type` (MAX_SD_SIDE, MAX_SD_SIDE_CPU)."""
    return LIMITS.max_sd_side_cpu if device_type == "cpu" else LIMITS.max_sd_side


def side_choices(cap: int) -> list[int]:
    """The SIDES a student may pick under `cap` (at least the smallest)."""
    return [s for s in SIDES if s <= cap] or [SIDES[0]]


@dataclass
class StepPlan:
    """Strength -> start timestep, known from the scheduler alone (both diffusion pages show it)."""

    steps: int  # the schedule's length before strength cuts it
    strength: float
    kept: int  # int(steps × strength): the schedule's steps kept
    timesteps: list[int]  # (T_run,) the timesteps denoised; the first is the start
    alphas: torch.Tensor  # (T,) ᾱ_t of the whole schedule

    @property
    def skipped(self) -> int:
        """The first steps of the schedule that img2img skips."""
        return self.steps - self.kept

    @property
    def signal_left(self) -> float:
        """√ᾱ at the start timestep: the share of the input's amplitude left in x_t."""
        return float(self.alphas[self.timesteps[0]]) ** 0.5


def step_plan(steps: int, strength: float, scheduler: Any) -> StepPlan:
    """What img2img will run on `scheduler` (a diffusers scheduler): UserError if no step runs."""
    timesteps = timesteps_run(steps, strength, scheduler)
    return StepPlan(steps, strength, kept_steps(steps, strength), timesteps, noise_schedule(scheduler))


@dataclass
class Img2ImgPlan(StepPlan):
    """What img2img will do, known before any weights load (the SD page's sections 1 and 2)."""

    image: Image.Image | None = None  # the input at the size that runs: (H, W), multiples of 8
    noisy: Image.Image | None = None  # the input at the start timestep, in pixel space, (H, W)


def plan_img2img(
    image: Image.Image, side: int, steps: int, strength: float, scheduler: str = "pndm", seed: int = 0
) -> Img2ImgPlan:
    """The no-weights part of img2img: size, timesteps, ᾱ_t and the noisy start; UserError if none runs."""
    sched = make_scheduler(scheduler)
    plan = step_plan(steps, strength, sched)
    sized = image.resize(sd_image_size(*image.size, max_side=side))
    noisy = forward_noise(sized, plan.timesteps[0], sched, seed)
    return Img2ImgPlan(**vars(plan), image=sized, noisy=noisy)


def count_tokens(tokenizer: Any, prompt: str) -> int:
    """Number of CLIP tokens of `prompt` with start/end tokens; beyond CLIP_MAX_TOKENS the rest is ignored."""
    return len(tokenizer(prompt, truncation=False, verbose=False).input_ids)


# --- weights: find them locally, else say exactly how to get them ---------------------------------


def default_model() -> str:
    """The model to load: SD_MODEL (hub id, folder or .safetensors file), else SD-1.5 on the Hub."""
    return os.environ.get("SD_MODEL", "").strip() or DEFAULT_MODEL


def how_to_get_weights(model: str) -> UserError:
    """The one sentence that says how to get the weights of `model` onto this computer."""
    return UserError(
        f"The weights of '{model}' are not on this computer and huggingface.co cannot be reached: run "
        "`make prepare` while online, or set the model to a local folder or .safetensors file.",
        f"本机没有“{model}”的权重，且无法连接 huggingface.co：请在联网时运行 `make prepare`，"
        "或把模型设为本地文件夹或 .safetensors 文件。",
    )


def _hub_offline() -> bool:
    from core.data import offline

    return offline() or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def weights_status(model: str | None = None) -> str:
    """Where `model`'s weights are, without loading them: "folder", "file", "cached" or "missing"."""
    model = model or default_model()
    path = Path(model).expanduser()
    if path.suffix in (".safetensors", ".ckpt"):
        return "file" if path.is_file() else "missing"
    if path.is_dir():
        return "folder" if (path / "model_index.json").is_file() else "missing"
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "model_index.json")
    except Exception:  # a malformed id is simply not in the cache
        return "missing"
    return "cached" if isinstance(found, str) else "missing"


def hub_answers() -> bool:
    """True when huggingface.co answers within seconds (a network probe: the SD page caches it)."""
    from core.data import network_reachable

    return network_reachable(HUB_HOST)


def weights_where(model: str | None = None, probe: Callable[[], bool] = hub_answers) -> str:
    """What can be said about `model`'s weights: weights_status's "folder", "file" or "cached" when they
    are here; "download" for a Hub id when downloads are allowed and `probe()` says the Hub answers (it is
    not called otherwise); else "missing". Anything but "missing" can be loaded."""
    if (status := weights_status(model)) != "missing":
        return status
    model = model or default_model()
    on_hub = not Path(model).expanduser().exists() and model.count("/") == 1
    return "download" if on_hub and not _hub_offline() and probe() else "missing"


def load_img2img(
    model: str | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    compile_unet: bool | None = None,
) -> Any:
    """StableDiffusionImg2ImgPipeline for a hub id, a local folder or one .safetensors file, on `device`.

    fp16 + SDPA + channels_last on CUDA, fp32 on CPU. Cached weights are used first (offline, no
    network call); a download is tried only if huggingface.co answers within seconds. Otherwise a
    UserError says how to get the weights. Cache the result per process (the page does).
    `compile_unet` (default: the SD_COMPILE=1 environment variable; CUDA only) wraps the UNet in
    torch.compile: faster steps, but the first image waits for the compile (docs/gpu.md has figures).
    """
    from diffusers import StableDiffusionImg2ImgPipeline

    from core.device import pick_device

    model = model or default_model()
    device = torch.device(device) if device is not None else pick_device("auto")
    dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    path = Path(model).expanduser()
    if path.suffix in (".safetensors", ".ckpt"):
        if not path.is_file():
            raise UserError(f"There is no file '{model}'.", f"文件“{model}”不存在。")
        try:  # the single file holds the weights; the config comes from the cache (offline first)
            pipe = StableDiffusionImg2ImgPipeline.from_single_file(
                str(path), dtype=dtype, local_files_only=True
            )
        except (OSError, ValueError) as err:
            if _hub_offline() or not hub_answers():
                raise how_to_get_weights(DEFAULT_MODEL) from err
            pipe = StableDiffusionImg2ImgPipeline.from_single_file(str(path), dtype=dtype)
    elif path.is_dir():
        if not (path / "model_index.json").is_file():
            raise UserError(
                f"'{model}' is a folder but not a diffusers pipeline (it has no model_index.json).",
                f"“{model}”是文件夹，但不是 diffusers 管线（缺少 model_index.json）。",
            )
        pipe = StableDiffusionImg2ImgPipeline.from_pretrained(path, dtype=dtype, local_files_only=True)
    elif model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise UserError(
            f"'{model}' is neither a folder, a .safetensors file, nor a Hub id like '{DEFAULT_MODEL}'.",
            f"“{model}”既不是文件夹、.safetensors 文件，也不是形如“{DEFAULT_MODEL}”的 Hub 模型名。",
        )
    else:
        try:  # like HF_HUB_OFFLINE=1, but for this call only: other pages keep their settings
            pipe = StableDiffusionImg2ImgPipeline.from_pretrained(model, dtype=dtype, local_files_only=True)
        except (OSError, ValueError) as err:
            if _hub_offline() or not hub_answers():
                raise how_to_get_weights(model) from err
            try:
                pipe = StableDiffusionImg2ImgPipeline.from_pretrained(model, dtype=dtype)
            except OSError as download_err:  # no such repo, a gated one, or the connection broke
                raise UserError(
                    f"Could not download '{model}' from huggingface.co ({type(download_err).__name__}). "
                    f"Check the name (the course uses '{DEFAULT_MODEL}') or use a local folder.",
                    f"无法从 huggingface.co 下载“{model}”（{type(download_err).__name__}）。请检查模型名"
                    f"（课程使用“{DEFAULT_MODEL}”）或改用本地文件夹。",
                ) from download_err
    pipe = pipe.to(device)
    if compile_unet is None:  # the server's setting
        compile_unet = os.environ.get("SD_COMPILE") == "1"
    if device.type == "cuda":
        from diffusers.models.attention_processor import AttnProcessor2_0

        pipe.unet.set_attn_processor(AttnProcessor2_0())  # PyTorch's fused scaled_dot_product_attention
        pipe.vae.set_attn_processor(AttnProcessor2_0())
        pipe.unet.to(memory_format=torch.channels_last)  # NHWC convolutions run faster on tensor cores
        if compile_unet:
            pipe.unet = torch.compile(pipe.unet)  # compiled at the first image; later ones reuse it
    pipe.set_progress_bar_config(disable=True)
    return pipe


def download_weights(model: str | None = None) -> str:
    """`make prepare`: download `model`'s diffusers files (not the extra checkpoints) to the HF cache."""
    from diffusers import StableDiffusionImg2ImgPipeline

    model = model or default_model()
    if weights_status(model) != "missing":
        return f"{model}: already here ({weights_status(model)})"
    if Path(model).expanduser().exists() or _hub_offline() or not hub_answers():
        raise how_to_get_weights(model)
    folder = StableDiffusionImg2ImgPipeline.download(model)
    return f"{model}: downloaded to {folder}"


# --- the recipe -------------------------------------------------------------------------------------


def latents_to_rgb(latents: torch.Tensor) -> Image.Image:
    """Cheap preview: (1, 4, h, w) SD latent -> (h, w) RGB image via LATENT_RGB_FACTORS (no VAE decode)."""
    z = latents.detach().float().cpu()[0]  # (4, h, w)
    rgb = torch.einsum("chw,cr->rhw", z, LATENT_RGB_FACTORS)  # (3, h, w), roughly in [-1, 1]
    return tensor_to_image(rgb)


def encode_prompt(pipe: Any, prompt: str) -> tuple[torch.Tensor, list[str]]:
    """Prompt -> (CLIP text embedding (1, 77, D) in the UNet's dtype, its 77 tokens as strings).

    CLIP pads every prompt to 77 tokens and cuts longer ones. The empty prompt "" is the
    unconditional prompt classifier-free guidance compares against.
    """
    tokenizer = pipe.tokenizer
    ids = tokenizer(
        prompt,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids  # (1, 77)
    with torch.no_grad():
        embeddings = pipe.text_encoder(ids.to(pipe.text_encoder.device))[0]  # (1, 77, D)
    return embeddings.to(pipe.unet.dtype), tokenizer.convert_ids_to_tokens(ids[0].tolist())


@dataclass
class Img2ImgResult:
    image: Image.Image  # the final image, full VAE decode
    previews: list[Image.Image]  # one per step: the predicted clean image x̂_0, latent-sized, cheap
    timesteps: list[int]  # the timesteps that really ran
    settings: dict[str, Any] = field(default_factory=dict)  # everything needed to reproduce it
    seconds: float = 0.0
    prompt_tokens: int = 0  # CLIP tokens of the prompt; above CLIP_MAX_TOKENS the rest was ignored
    device: str = ""  # where the UNet ran: "CPU", "CUDA", "MPS"

    @property
    def summary(self) -> dict[str, Any]:
        """What a finished run reports: UNet steps run, the start timestep, seconds, device."""
        return dict(n=len(self.timesteps), t=self.timesteps[0], seconds=self.seconds, device=self.device)


@torch.inference_mode()
def run_img2img(
    pipe: Any,
    image: Image.Image,
    prompt: str,
    negative_prompt: str = "",
    strength: float = 0.75,
    guidance_scale: float = 7.5,
    steps: int = 50,
    seed: int = 0,
    scheduler: str | None = None,
    report: Report | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Img2ImgResult | None:
    """Img2img on `pipe`'s components: (H, W) RGB image + prompt -> (H, W) image and per-step previews.

    H and W are rounded down to multiples of 8. After each of the n steps `report` gets
    {"progress", "step", "steps", "t"}; `should_stop()` is checked before each step (None when stopped).
    `scheduler` ("pndm", "ddim", ...) replaces the pipeline's for this run only.
    Same seed, same settings -> the same image (and the same image `pipe(...)` gives).
    """
    start_time = time.perf_counter()
    check_settings(steps, strength, guidance_scale)
    device, dtype = pipe.unet.device, pipe.unet.dtype
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same noise on every device
    do_guidance = guidance_scale > 1.0  # classifier-free guidance; 1 would be the text branch alone

    # 1. Encode the prompt (CLIP keeps the first 77 tokens) and, for guidance, the negative prompt
    prompt_embeds = encode_prompt(pipe, prompt)[0]  # (1, 77, d)
    if do_guidance:  # (2, 77, d): [uncond, text]; "" is the unconditional prompt
        prompt_embeds = torch.cat([encode_prompt(pipe, negative_prompt)[0], prompt_embeds])

    # 2. Encode the image into the VAE's latent space (sampled from its posterior, as diffusers does)
    width, height = sd_image_size(*image.size, max_side=max(image.size))
    image = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    x0 = image_to_tensor(image).to(device, dtype)  # (1, 3, H, W) in [-1, 1]
    posterior = pipe.vae.encode(x0).latent_dist
    latents0 = pipe.vae.config.scaling_factor * posterior.sample(generator=generator.manual_seed(seed))
    # (1, 4, H/8, W/8); the generator continues: the noise below comes next in the same stream

    # 3. Pick the start timestep from strength: skip the first steps - int(steps × strength) steps
    base = make_scheduler(scheduler, pipe.scheduler.config) if scheduler else pipe.scheduler
    sched, timesteps = img2img_schedule(steps, strength, base, device)  # a fresh one: runs share nothing

    # 4. Add the noise of that timestep: x_t = √ᾱ_t·x_0 + √(1-ᾱ_t)·ε
    noise = torch.randn(latents0.shape, generator=generator, dtype=torch.float32).to(device, dtype)
    latents = sched.add_noise(latents0, noise, timesteps[:1])

    # 5. Denoise: the UNet predicts the noise ε; guidance pushes it toward the prompt
    alphas = sched.alphas_cumprod.to(device)
    step_kwargs = {"generator": generator} if "generator" in inspect.signature(sched.step).parameters else {}
    ts = [int(t) for t in timesteps]  # read once: the loop itself never waits for the GPU
    predicted = []  # x̂_0 per step, kept on the device; the previews are drawn after the loop
    for i, t in enumerate(timesteps):
        if should_stop is not None and should_stop():
            return None
        model_input = torch.cat([latents] * 2) if do_guidance else latents
        model_input = sched.scale_model_input(model_input, t)
        noise_pred = pipe.unet(model_input, t, encoder_hidden_states=prompt_embeds, return_dict=False)[0]
        if do_guidance:
            noise_uncond, noise_text = noise_pred.chunk(2)
            noise_pred = noise_uncond + guidance_scale * (noise_text - noise_uncond)
        # what the model thinks the clean latent is now: x̂_0 = (x_t - √(1-ᾱ_t)·ε̂) / √ᾱ_t
        a = alphas[ts[i]].to(latents.dtype)
        predicted_x0 = (latents - (1 - a).sqrt() * noise_pred) / a.sqrt()
        latents = sched.step(noise_pred, t, latents, **step_kwargs, return_dict=False)[0]
        predicted.append(predicted_x0)
        if report is not None:
            report({"progress": (i + 1) / len(timesteps), "step": i + 1, "steps": len(timesteps), "t": ts[i]})

    # 6. Decode the final latent with the VAE (and the safety checker, when the model has one)
    decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
    if getattr(pipe, "safety_checker", None) is not None:
        decoded, _ = pipe.run_safety_checker(decoded, device, prompt_embeds.dtype)
    settings = dict(
        prompt=prompt,
        negative_prompt=negative_prompt,
        strength=strength,
        guidance_scale=guidance_scale,
        steps=steps,
        seed=seed,
        width=width,
        height=height,
        scheduler=type(sched).__name__,
        steps_run=len(timesteps),
        start_timestep=int(timesteps[0]),
        model=str(getattr(pipe, "name_or_path", "") or pipe.config.get("_name_or_path", "")),
    )
    return Img2ImgResult(
        tensor_to_image(decoded),
        [latents_to_rgb(x) for x in predicted],
        ts,
        settings,
        time.perf_counter() - start_time,
        count_tokens(pipe.tokenizer, prompt),
        device.type.upper(),
    )


def sheet_runs(
    cell: Callable[[float, float], Any | None],
    strengths: list[float],
    guidances: list[float],
    report: Report | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[list[Any]] | None:
    """A strength × guidance grid: sheet[row = strength][col = guidance] = cell(strength, guidance).

    Both contact sheets (SD, MNIST) run through it. After each cell `report` gets {"progress", "done",
    "total"}; None when `should_stop()` says so, or when a cell returns None (it was stopped).
    """
    sheet, total = [], len(strengths) * len(guidances)
    for strength in strengths:
        sheet.append([])
        for guidance in guidances:
            if should_stop is not None and should_stop():
                return None
            if (out := cell(strength, guidance)) is None:
                return None
            sheet[-1].append(out)
            if report is not None:
                done = sum(map(len, sheet))
                report({"progress": done / total, "done": done, "total": total})
    return sheet


def contact_sheet(
    pipe: Any,
    image: Image.Image,
    prompt: str,
    strengths: list[float],
    guidances: list[float],
    steps: int = 20,
    seed: int = 0,
    negative_prompt: str = "",
    report: Report | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[list[Image.Image]] | None:
    """A strength × guidance grid of img2img runs at one seed: sheet[row = strength][col = guidance]."""
    for s in strengths:
        check_settings(steps, s)

    def cell(strength: float, guidance: float) -> Image.Image | None:
        out = run_img2img(
            pipe, image, prompt, negative_prompt, strength, guidance, steps, seed, should_stop=should_stop
        )
        return None if out is None else out.image

    return sheet_runs(cell, strengths, guidances, report, should_stop)


def evenly_spaced(n: int, k: int) -> list[int]:
    """At most `k` indices into a list of `n`, evenly spread, first and last included (preview strips)."""
    return sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)}) if n else []


def png_with_settings(image: Image.Image, settings: dict[str, Any]) -> bytes:
    """PNG bytes of `image` with every setting in its text chunks (key "sd.<name>", plus "parameters")."""
    import json

    info = PngImagePlugin.PngInfo()
    for key, value in settings.items():
        info.add_itxt(f"sd.{key}", str(value))  # iTXt: UTF-8, so Chinese and emoji prompts survive
    info.add_itxt("parameters", json.dumps(settings, ensure_ascii=False))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


# --- the bundled input ----------------------------------------------------------------------------


def bundled_sketch() -> Image.Image:
    """The page's default input: assets/sd/mountain_sketch.png, else the same sketch drawn by code."""
    from core.images import open_image

    return open_image(SKETCH.read_bytes()) if SKETCH.exists() else make_mountain_sketch()


def make_mountain_sketch(width: int = 768, height: int = 512, seed: int = 7) -> Image.Image:
    """A simple coloured sketch of mountains over a lake, drawn by code (license-clean), (H, W) RGB."""
    rng = np.random.default_rng(seed)
    horizon = int(height * 0.62)
    sky = np.linspace([110, 160, 215], [232, 226, 214], horizon + 1).astype(np.uint8)  # top -> horizon
    img = Image.new("RGB", (width, height))
    img.paste(Image.fromarray(np.repeat(sky[:, None, :], width, axis=1), "RGB"), (0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse([width * 0.60, height * 0.06, width * 0.60 + 52, height * 0.06 + 52], fill=(255, 236, 170))

    def ridge(base: float, amp: float, peaks: int) -> list[tuple[float, float]]:
        xs = np.linspace(0, width, peaks * 2 + 1)
        ys = [
            base - amp * (0.55 + 0.45 * rng.random()) if k % 2 else base - amp * 0.15 * rng.random()
            for k in range(len(xs))
        ]
        return list(zip(xs, ys, strict=True))

    for base, amp, peaks, colour in (
        (horizon, height * 0.50, 3, (96, 104, 128)),
        (horizon, height * 0.34, 4, (70, 88, 84)),
    ):
        pts = ridge(base, amp, peaks)
        draw.polygon([(0, horizon), *pts, (width, horizon)], fill=colour)
        for k in range(1, len(pts) - 1, 2):  # snow caps on the far range's peaks
            if colour[0] > 90:
                (x0, y0), (x1, y1), (x2, y2) = pts[k - 1], pts[k], pts[k + 1]
                f = 0.28
                draw.polygon(
                    [
                        (x1 + (x0 - x1) * f, y1 + (y0 - y1) * f),
                        (x1, y1),
                        (x1 + (x2 - x1) * f, y1 + (y2 - y1) * f),
                    ],
                    fill=(240, 244, 250),
                )
    draw.rectangle([0, horizon, width, height], fill=(72, 120, 160))  # the lake
    for k in range(12):  # ripples
        y = horizon + 8 + k * (height - horizon) / 12
        x = rng.uniform(0, width * 0.8)
        draw.line([(x, y), (x + rng.uniform(40, 160), y)], fill=(150, 190, 215), width=2)
    return img.filter(ImageFilter.SMOOTH)
