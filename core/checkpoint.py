"""Save and load trained weights as safetensors: plain tensors plus JSON metadata, never pickle.

An uploaded `.pt` file is a pickle and can run any code when loaded; a safetensors file is a JSON
header and raw numbers, so loading a student's or a stranger's file is safe.

    blob = save_checkpoint(model, {"test_acc": 0.987})
    model, meta = load_checkpoint(blob)       # rebuilds core.models.build_model(meta["model"], **options)
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from core.errors import UserError
from core.models import ALL_MODELS, MODEL_NAMES, build_model
from core.storage import atomic_write_bytes

PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # a raw pickle protocol header, or torch.save's zip file


def save_checkpoint(model: nn.Module, meta: dict[str, Any] | None = None) -> bytes:
    """The model's state_dict as safetensors bytes; metadata holds model name, options and `meta` (JSON)."""
    meta = dict(meta or {})
    meta.setdefault("model", getattr(model, "name", None))
    meta.setdefault("options", getattr(model, "options", {}))
    if meta["model"] not in ALL_MODELS:
        raise UserError(
            "Only models built with core.models.build_model can be saved (the file must say "
            "which architecture to rebuild).",
            "只能保存用 core.models.build_model 创建的模型（文件中须写明要重建的网络结构）。",
        )
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return st_save(state, metadata={k: json.dumps(v, ensure_ascii=False) for k, v in meta.items()})


_REASONS_ZH = {
    "it is a pickle / torch.save file": "它是 pickle / torch.save 文件",
    "the file is empty, truncated or damaged": "文件为空、被截断或已损坏",
    "it does not start with a safetensors header": "它不以 safetensors 文件头开始",
    "its header is not valid JSON": "它的文件头不是有效的 JSON",
    "it does not say which of this app's models it holds": "它没有说明保存的是本应用的哪个模型",
    "the tensors are cut off or damaged": "张量数据被截断或已损坏",
}


def _not_safetensors(reason: str) -> UserError:
    return UserError(
        f"This is not a weights file from this app ({reason}). Upload a .safetensors file saved by the "
        "trainer page; pickled .pt/.pth files are refused because loading them can run any code.",
        f"这不是本应用保存的权重文件（{_REASONS_ZH[reason]}）。请上传训练页面保存的 .safetensors 文件；"
        ".pt/.pth（pickle）文件会被拒绝，因为加载它们可能执行任意代码。",
    )


def read_metadata(data: bytes) -> dict[str, Any]:
    """The JSON metadata of safetensors bytes (model, options, ...), without loading the tensors."""
    header_len = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else 0
    if not (2 <= header_len <= min(len(data) - 8, 100_000_000) and data[8:9] == b"{"):
        if data[:1] == PICKLE_MAGIC[0] or data[:4] == PICKLE_MAGIC[1]:
            raise _not_safetensors("it is a pickle / torch.save file")
        if len(data) < 8 or header_len > len(data) - 8:
            raise _not_safetensors("the file is empty, truncated or damaged")
        raise _not_safetensors("it does not start with a safetensors header")
    try:
        header = json.loads(data[8 : 8 + header_len])
        raw = header.get("__metadata__", {}) or {}
        return {k: json.loads(v) for k, v in raw.items()}
    except (ValueError, AttributeError, UnicodeDecodeError) as err:
        raise _not_safetensors("its header is not valid JSON") from err


def load_checkpoint(data: bytes, models: tuple[str, ...] = MODEL_NAMES) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model named in the metadata and load its weights (eval mode, CPU) -> (model, meta).

    Only the `models` named are accepted: the classifiers by default, ("vae",) for the VAE page.
    """
    meta = read_metadata(data)
    name, options = meta.get("model"), meta.get("options", {})
    if name not in models or not isinstance(options, dict):
        raise _not_safetensors("it does not say which of this app's models it holds")
    try:
        state = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise _not_safetensors("the tensors are cut off or damaged") from err
    model = build_model(name, **options)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise UserError(
            f"These weights do not fit the model '{name}' with options {options}: the layer names or shapes "
            "differ (was the file edited, or saved from another architecture?).",
            f"这些权重与模型“{name}”（选项 {options}）不匹配：层的名字或形状不同"
            "（文件是否被修改过，或来自另一种网络结构？）。",
        ) from err
    return model.eval(), meta


def save_checkpoint_file(path: str | Path, model: nn.Module, meta: dict[str, Any] | None = None) -> Path:
    """`save_checkpoint` written atomically to `path` (never half a file)."""
    return atomic_write_bytes(path, save_checkpoint(model, meta))


def load_checkpoint_file(
    path: str | Path, models: tuple[str, ...] = MODEL_NAMES
) -> tuple[nn.Module, dict[str, Any]]:
    """`load_checkpoint` from a file on disk."""
    return load_checkpoint(Path(path).read_bytes(), models)


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """True when two models hold identical tensors under identical names."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)
