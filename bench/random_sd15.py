"""A full-size Stable Diffusion 1.5 img2img pipeline with random weights, built from configs (no download).

Its speed equals the real model's (same shapes, same kernels), so the GPU benchmarks use it where the
weights cannot be fetched. UNet: SD-1.5's own config (core/unet.py). VAE and CLIP text encoder: the
published SD-1.5 sizes. Tokenizer: the tests' tiny byte-level CLIP BPE (any prompt tokenizes; the
encoder still sees 77 positions, as the real one does).

    python bench/random_sd15.py /tmp/sd15-random     # builds and saves it (fp16 weights), prints the path
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# stable-diffusion-v1-5's vae/config.json and text_encoder/config.json (CLIP ViT-L/14's text tower).
SD15_VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    sample_size=512,
    layers_per_block=2,
    block_out_channels=(128, 256, 512, 512),
    norm_num_groups=32,
    act_fn="silu",
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    scaling_factor=0.18215,
)
SD15_TEXT = dict(
    vocab_size=49408,
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    projection_dim=768,
)


def build_random_sd15(folder: str | Path, seed: int = 0, dtype: torch.dtype = torch.float16) -> Path:
    """Build SD-1.5's img2img pipeline with random weights (seeded) and save_pretrained() it to `folder`."""
    from diffusers import AutoencoderKL, StableDiffusionImg2ImgPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from core.diffusion import make_scheduler
    from core.unet import SD15
    from tests.tiny_sd import write_tiny_tokenizer_files

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**dict(SD15)).to(dtype)
    vae = AutoencoderKL(**SD15_VAE).to(dtype)
    text_encoder = CLIPTextModel(CLIPTextConfig(**SD15_TEXT)).to(dtype)
    vocab, merges = write_tiny_tokenizer_files(folder / "_tokenizer_files")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=make_scheduler("pndm"),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":
    print(build_random_sd15(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sd15-random"))
