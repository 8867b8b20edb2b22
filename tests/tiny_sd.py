"""A tiny, random Stable Diffusion img2img pipeline built from configs, saved to a folder (no Hub, no
weights).

The component sizes are the ones diffusers uses in its own pipeline tests
(`tests/pipelines/stable_diffusion/test_stable_diffusion_img2img.py`): a UNet with
block_out_channels (32, 64) and cross_attention_dim 32, a two-block AutoencoderKL, a 5-layer CLIP text
encoder of width 32. The tokenizer is a real byte-level BPE CLIPTokenizer made from a small
vocab.json/merges.txt written here (every byte is a token, so any prompt, Chinese or emoji included,
tokenizes). The scheduler is SD-1.5's PNDM configuration. Everything runs on a CPU in well under a
second per step.

Other tests import `build_tiny_img2img(folder) -> Path`: keep that signature stable.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from core.diffusion import SD15_SCHEDULER_CONFIG

# SD-1.5's scheduler/scheduler_config.json (the real model's), so steps and timesteps match it exactly.
SD15_PNDM_CONFIG = {k: v for k, v in SD15_SCHEDULER_CONFIG.items() if k != "_class_name"}
WORDS = ("a", "fantasy", "landscape", "trending", "on", "artstation", "mountain", "lake", "sky", "snow")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character map (the base alphabet of the BPE)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def write_tiny_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    """vocab.json + merges.txt of a small CLIP BPE: all 256 bytes (plain and word-final), a few words."""
    chars = list(_bytes_to_unicode().values())
    vocab: list[str] = chars + [c + "</w>" for c in chars]
    merges: list[str] = []
    for word in WORDS:  # merge each word left to right: "l a", "la n", ... ending in "</w>"
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        while len(pieces) > 1:
            merges.append(f"{pieces[0]} {pieces[1]}")
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            if pieces[0] not in vocab:
                vocab.append(pieces[0])
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file, merges_file = folder / "vocab.json", folder / "merges.txt"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n", encoding="utf-8")
    return vocab_file, merges_file


def build_tiny_img2img(folder: str | Path, seed: int = 0) -> Path:
    """Build the tiny pipeline (random weights, fixed by `seed`) and save_pretrained() it to `folder`."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionImg2ImgPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=5,
            pad_token_id=1,
            vocab_size=1000,
            max_position_embeddings=77,
        )
    )
    with tempfile.TemporaryDirectory() as src:  # vocab.json + merges.txt, read the way the Hub's are
        write_tiny_tokenizer_files(Path(src))
        tokenizer = CLIPTokenizer.from_pretrained(src, model_max_length=77)
    assert len(tokenizer) <= 1000, "the tiny vocabulary must fit the text encoder's embedding table"
    pipe = StableDiffusionImg2ImgPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=PNDMScheduler.from_config(SD15_PNDM_CONFIG),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)
    return folder
