"""Inside Stable Diffusion 1.5's UNet, block by block, without downloading a single weight.

The model is the real `diffusers.UNet2DConditionModel`, built from SD-1.5's own `unet/config.json`
on PyTorch's `meta` device: meta tensors carry shapes and dtypes but no memory, so a forward pass
through all 859,520,964 parameters takes about a second and a few hundred MB. Forward hooks record
every block's input and output shapes, its children, which skip connections it sends or receives,
and the shapes of its cross-attention to the text tokens.

With a loaded pipeline (real weights) the same module also measures per-block activation
statistics for a prompt, and records cross-attention maps per prompt token with a custom attention
processor (the one place where the prompt enters the image).

    rows = inspect_unet(SD15, height=512, width=512, batch=1, guidance=True)
    rows[0].out_shape   # conv_in: (2, 320, 64, 64) -- 512 / 8 = 64, guidance doubles the batch
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from core.errors import UserError
from core.models import count_parameters  # sum(p.numel()); works on meta tensors

# SD-1.5's unet/config.json (stable-diffusion-v1-5), written out so no download is needed.
# Note the historic quirk: `attention_head_dim: 8` is really the number of heads (8 heads of
# 40, 80 and 160 channels), kept here exactly as the released config says it.
SD15: Mapping[str, Any] = MappingProxyType(
    {
        "sample_size": 64,  # latent side for the 512 px training images (512 / 8)
        "in_channels": 4,  # the VAE's latent channels
        "out_channels": 4,  # predicted noise, same shape as the latent
        "center_input_sample": False,
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "down_block_types": (
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D",
        ),
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        "only_cross_attention": False,
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,  # ResNets per down block (up blocks have one more)
        "downsample_padding": 1,
        "mid_block_scale_factor": 1,
        "act_fn": "silu",
        "norm_num_groups": 32,
        "norm_eps": 1e-5,
        "cross_attention_dim": 768,  # CLIP ViT-L/14 text embedding width
        "attention_head_dim": 8,  # (really: number of heads, see above)
    }
)
SD15_PARAMETERS = 859_520_964  # sum(p.numel() for p in unet.parameters()) of the released model

# A tiny UNet of the same shape, in the spirit of diffusers' own tests (block_out_channels=(32, 64)).
TINY: Mapping[str, Any] = MappingProxyType(
    {
        "sample_size": 8,
        "in_channels": 4,
        "out_channels": 4,
        "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
        "block_out_channels": (32, 64),
        "layers_per_block": 2,
        "norm_num_groups": 32,
        "cross_attention_dim": 32,
        "attention_head_dim": 4,
    }
)

LATENT_FACTOR = 8  # SD's VAE halves the image three times: latent side = image side / 8
TEXT_TOKENS = 77  # CLIP's tokenizer pads every prompt to 77 tokens
MAX_SIDE = 2048  # pixels; meta tensors cost nothing, but larger sizes teach nothing new
MAX_BATCH = 64
SIZES = (
    "512x512",
    "768x512",
    "512x768",
    "640x640",
    "1024x1024",
    "256x256",
)  # the inspector's, width x height


# --- what the trace returns -------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One child of a block, in the order the forward pass calls it."""

    name: str  # e.g. "resnets.0", "attentions.0", "downsamplers.0"
    cls: str  # diffusers class name, e.g. "ResnetBlock2D"
    out_shape: tuple[int, ...]
    params: int
    heads: int | None = None  # Transformer2DModel only
    head_dim: int | None = None


@dataclass(frozen=True)
class CrossAttention:
    """Shapes of one cross-attention (attn2): image tokens ask, text tokens answer."""

    where: str  # e.g. "down_blocks.0.attentions.0"
    query_tokens: int  # h * w latent positions
    key_tokens: int  # 77 text tokens
    query_dim: int  # channels of the image tokens (320, 640, 1280)
    key_dim: int  # 768: the text embedding width
    heads: int
    head_dim: int
    batch: int

    @property
    def scores_shape(self) -> tuple[int, int, int, int]:
        """(batch, heads, query_tokens, key_tokens): the attention matrix softmax runs over."""
        return (self.batch, self.heads, self.query_tokens, self.key_tokens)


@dataclass(frozen=True)
class Skip:
    """One skip connection: a tensor saved on the way down, concatenated on the way up."""

    index: int  # position in the UNet's `down_block_res_samples`
    source: str  # "conv_in" or e.g. "down_blocks.0.attentions.1"
    target: str  # e.g. "up_blocks.3.resnets.0"
    shape: tuple[int, ...]


@dataclass(frozen=True)
class BlockRow:
    """One top-level block of the UNet: conv_in, time embedding, down blocks, mid, up blocks, conv_out."""

    name: str  # module path, e.g. "down_blocks.0"
    kind: str  # "in" | "time" | "down" | "mid" | "up" | "out"
    cls: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    params: int
    parts: tuple[Part, ...]
    level: int  # times the latent was halved before this block's input (0 = full size): its place in the U
    skips_out: tuple[Skip, ...] = ()  # sent to the up path (conv_in, down blocks)
    skips_in: tuple[Skip, ...] = ()  # received from the down path (up blocks)
    cross_attention: tuple[CrossAttention, ...] = field(default_factory=tuple)

    @property
    def channels(self) -> int:
        """Output channels (the time embedding's width for the time row)."""
        return self.out_shape[1]


# --- building the model -------------------------------------------------------------------------


def build_unet(config: Mapping[str, Any] = SD15, device: str | torch.device = "meta") -> torch.nn.Module:
    """A `UNet2DConditionModel` from a config; on `meta` it has every parameter's shape and no memory."""
    from diffusers import UNet2DConditionModel

    with torch.device(device):
        return UNet2DConditionModel(**dict(config))


def latent_size(height: int, width: int, factor: int = LATENT_FACTOR) -> tuple[int, int]:
    """Image (height, width) in pixels -> latent (h, w) = (height / 8, width / 8); checks the sizes."""
    for side, label_en, label_zh in ((height, "height", "高度"), (width, "width", "宽度")):
        if side % factor or not factor * 8 <= side <= MAX_SIDE:
            raise UserError(
                f"The image {label_en} must be a multiple of {factor} between {factor * 8} and "
                f"{MAX_SIDE} pixels (got {side}): the VAE turns every {factor}×{factor} pixels into "
                f"one latent position.",
                f"图像{label_zh}必须是 {factor} 的倍数，且在 {factor * 8} 到 {MAX_SIDE} 像素之间"
                f"（现在是 {side}）：VAE 把每 {factor}×{factor} 个像素变成一个潜变量位置。",
            )
    return height // factor, width // factor


# --- the trace ----------------------------------------------------------------------------------


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value:
        return _first_tensor(value[0])
    sample = getattr(value, "sample", None)
    return sample if isinstance(sample, torch.Tensor) else None


def _children_in_order(block: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """The leaves of a block's layout: items of its ModuleLists (resnets.0, ...) and plain children."""
    out = []
    for name, child in block.named_children():
        if isinstance(child, torch.nn.ModuleList):
            out.extend((f"{name}.{i}", c) for i, c in enumerate(child))
        else:
            out.append((name, child))
    return out


def _heads(module: torch.nn.Module) -> tuple[int | None, int | None]:
    attn = getattr(module, "transformer_blocks", [None])[0]
    if attn is None:
        return None, None
    heads = attn.attn1.heads
    return heads, attn.attn1.inner_dim // heads


def _top_level(unet: torch.nn.Module) -> list[tuple[str, str, list[tuple[str, torch.nn.Module]]]]:
    """(row name, kind, [(part name, module)]) for each row of the table, in forward order."""
    rows = [
        ("conv_in", "in", [("conv_in", unet.conv_in)]),
        ("time_embedding", "time", [("time_proj", unet.time_proj), ("time_embedding", unet.time_embedding)]),
    ]
    rows += [(f"down_blocks.{i}", "down", _children_in_order(b)) for i, b in enumerate(unet.down_blocks)]
    rows.append(("mid_block", "mid", _children_in_order(unet.mid_block)))
    rows += [(f"up_blocks.{i}", "up", _children_in_order(b)) for i, b in enumerate(unet.up_blocks)]
    out_names = ("conv_norm_out", "conv_act", "conv_out")
    out_parts = [(n, getattr(unet, n)) for n in out_names if getattr(unet, n, None)]
    rows.append(("conv_out", "out", out_parts))
    return rows


def trace_unet(
    unet: torch.nn.Module, latent: tuple[int, int], batch: int, text_tokens: int = TEXT_TOKENS
) -> list[BlockRow]:
    """Run one forward pass of `unet` on (batch, C, h, w) zeros on the unet's device; one row per block.

    On the meta device nothing is computed: only shapes flow. Rows follow the forward order.
    """
    device = next(unet.parameters()).device
    dtype = next(unet.parameters()).dtype
    cfg = unet.config
    h, w = latent
    layout = _top_level(unet)
    outputs: dict[str, Any] = {}  # module path -> output (tensors kept alive so identities stay unique)
    inputs: dict[str, tuple[int, ...]] = {}
    order: list[str] = []
    up_inputs: dict[str, tuple[torch.Tensor, ...]] = {}
    cross: dict[str, tuple[tuple[int, ...], tuple[int, ...], torch.nn.Module]] = {}
    handles = []

    def keep_output(path: str):
        def hook(module, args, kwargs, output):
            outputs[path] = output
            order.append(path)

        return hook

    def keep_input(path: str):
        def hook(module, args, kwargs):
            x = kwargs.get("hidden_states", args[0] if args else None)
            if isinstance(x, torch.Tensor):
                inputs[path] = tuple(x.shape)
            if "res_hidden_states_tuple" in kwargs:
                up_inputs[path] = tuple(kwargs["res_hidden_states_tuple"])

        return hook

    def keep_cross(path: str):
        def hook(module, args, kwargs):
            x = kwargs.get("hidden_states", args[0] if args else None)
            text = kwargs.get("encoder_hidden_states")
            if text is not None:
                cross[path] = (tuple(x.shape), tuple(text.shape), module)

        return hook

    try:
        for row_name, _kind, parts in layout:
            if row_name.startswith(("down_blocks", "mid_block", "up_blocks")):
                block = unet.get_submodule(row_name)
                handles.append(block.register_forward_pre_hook(keep_input(row_name), with_kwargs=True))
                handles.append(block.register_forward_hook(keep_output(row_name), with_kwargs=True))
                prefix = row_name + "."
            else:
                prefix = ""
            for part_name, module in parts:
                path = prefix + part_name
                handles.append(module.register_forward_pre_hook(keep_input(path), with_kwargs=True))
                handles.append(module.register_forward_hook(keep_output(path), with_kwargs=True))
        for name, module in unet.named_modules():
            if name.endswith(".attn2"):
                handles.append(module.register_forward_pre_hook(keep_cross(name), with_kwargs=True))

        channels = cfg.in_channels
        with torch.no_grad():
            sample = torch.zeros(batch, channels, h, w, device=device, dtype=dtype)
            timestep = torch.full((batch,), 999, device=device, dtype=torch.long)
            text = torch.zeros(batch, text_tokens, cfg.cross_attention_dim, device=device, dtype=dtype)
            unet(sample, timestep, encoder_hidden_states=text, return_dict=False)
    finally:
        for handle in handles:
            handle.remove()

    # The tensors saved for the skip connections, exactly as UNet2DConditionModel collects them:
    # conv_in's output, then every tensor each down block returns in its `res_samples` tuple.
    saved = [_first_tensor(outputs["conv_in"])]
    for row_name, kind, _parts in layout:
        if kind == "down":
            saved.extend(outputs[row_name][1])
    producer = {}  # id(tensor) -> the part that returned it (the last one in forward order)
    for path in order:
        t = _first_tensor(outputs[path])
        if t is not None and (path == "conv_in" or path.count(".") >= 2):
            producer[id(t)] = path
    index_of = {id(t): k for k, t in enumerate(saved)}
    skips = []
    for up_name, res in up_inputs.items():
        for j in range(len(res)):
            t = res[-1 - j]  # the up block's resnet j pops the most recently saved tensor first
            skips.append(Skip(index_of[id(t)], producer[id(t)], f"{up_name}.resnets.{j}", tuple(t.shape)))

    first_call = {path: i for i, path in reversed(list(enumerate(order)))}
    rows: list[BlockRow] = []
    for row_name, kind, parts in layout:
        prefix = row_name + "." if kind in ("down", "mid", "up") else ""
        part_rows = []
        for part_name, module in parts:
            t = _first_tensor(outputs.get(prefix + part_name))
            heads, head_dim = _heads(module)
            part_rows.append(
                Part(
                    part_name,
                    type(module).__name__,
                    tuple(t.shape) if t is not None else (),
                    count_parameters(module),
                    heads,
                    head_dim,
                )
            )
        if prefix:
            cls = type(unet.get_submodule(row_name)).__name__
            out, in_shape = _first_tensor(outputs[row_name]), inputs[row_name]
        else:
            cls = part_rows[-1].cls
            out = _first_tensor(outputs[parts[-1][0]])
            in_shape = (batch,) if kind == "time" else inputs[parts[0][0]]
        # The resolution a block works at (its input's): where it sits in the U.
        level = 0 if kind == "time" else round(math.log2(h / in_shape[2]))
        part_rows.sort(key=lambda p: first_call.get(prefix + p.name, len(order)))
        attention = tuple(
            CrossAttention(
                where=path.rsplit(".transformer_blocks", 1)[0],
                query_tokens=q[1],
                key_tokens=k[1],
                query_dim=q[2],
                key_dim=k[2],
                heads=m.heads,
                head_dim=m.inner_dim // m.heads,
                batch=q[0],
            )
            for path, (q, k, m) in cross.items()
            if path.startswith(prefix or "-")
        )
        rows.append(
            BlockRow(
                name=row_name,
                kind=kind,
                cls=cls,
                in_shape=tuple(in_shape),
                out_shape=tuple(out.shape),
                params=sum(p.params for p in part_rows),
                parts=tuple(part_rows),
                level=level,
                skips_out=tuple(
                    s for s in skips if s.source == row_name or s.source.startswith(prefix or "-")
                ),
                skips_in=tuple(s for s in skips if s.target.startswith(row_name + ".")),
                cross_attention=attention,
            )
        )
    return rows


def inspect_unet(
    config: Mapping[str, Any] | torch.nn.Module = SD15,
    height: int = 512,
    width: int = 512,
    batch: int = 1,
    guidance: bool = True,
    text_tokens: int = TEXT_TOKENS,
) -> list[BlockRow]:
    """One row per block for images of (height, width) px: latent (h, w) = size / 8, batch x2 with guidance.

    `config` is a UNet config (SD15, TINY, ...) or a loaded UNet2DConditionModel; either way the trace
    runs on a meta-device twin built from its config, so it costs no memory and no compute.
    """
    if not 1 <= batch <= MAX_BATCH:
        raise UserError(
            f"The batch size must be between 1 and {MAX_BATCH} (got {batch}).",
            f"批大小必须在 1 到 {MAX_BATCH} 之间（现在是 {batch}）。",
        )
    latent = latent_size(height, width)
    if isinstance(config, torch.nn.Module):
        config = dict(config.config)
    unet = build_unet(config, "meta")
    # Classifier-free guidance runs the prompt and the empty prompt side by side: twice the batch.
    return trace_unet(unet, latent, batch * (2 if guidance else 1), text_tokens)


def total_parameters(rows: list[BlockRow]) -> int:
    """Sum of the rows' parameters: equals sum(p.numel()) of the whole UNet."""
    return sum(r.params for r in rows)


def skip_pairs(rows: list[BlockRow]) -> list[Skip]:
    """Every skip connection, in the order it was saved on the way down (index 0 = conv_in's output)."""
    return sorted((s for r in rows for s in r.skips_in), key=lambda s: s.index)


def parameters_by_type(rows: list[BlockRow]) -> dict[str, int]:
    """Parameters per part class (ResnetBlock2D, Transformer2DModel, ...), largest first."""
    totals: dict[str, int] = {}
    for row in rows:
        for part in row.parts:
            totals[part.cls] = totals.get(part.cls, 0) + part.params
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def short_count(n: int) -> str:
    """A parameter count short enough for a headline: 12,800 · 97.0 M · 859.5 M · 1.07 B."""
    if n < 1_000_000:
        return f"{n:,}"
    return f"{n / 1e6:.1f} M" if n < 1_000_000_000 else f"{n / 1e9:.2f} B"


def shape_text(shape: tuple[int, ...]) -> str:
    """(2, 320, 64, 64) -> "2×320×64×64"."""
    return "×".join(map(str, shape))


def parse_size(text: str) -> tuple[int, int]:
    """ "768x512" (width x height, as image sizes are written) -> (height, width) = (512, 768)."""
    width, height = (int(v) for v in text.lower().replace("×", "x").split("x"))
    return height, width


def size_label(text: str) -> str:
    """ "768x512" -> "768 × 512" (how a size is read aloud)."""
    return text.replace("x", " × ")


def config_key(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A UNet config's public entries, sorted and hashable (a cache key; `dict(key)` rebuilds the config)."""
    return tuple(sorted((k, v) for k, v in dict(config).items() if not k.startswith("_")))


def headline(rows: list[BlockRow]) -> dict[str, Any]:
    """The numbers above the diagram: parameters (short, exact), latent h × w, batch, text tokens × width."""
    first, attention = rows[0], [a for r in rows for a in r.cross_attention]
    total = total_parameters(rows)
    numbers = {
        "params": (short_count(total), f"{total:,}"),
        "latent": f"{first.in_shape[2]} × {first.in_shape[3]}",
        "batch": first.in_shape[0],
    }
    if attention:
        numbers["tokens"] = f"{attention[0].key_tokens} × {attention[0].key_dim}"
    return numbers


def block_numbers(row: BlockRow, rows: list[BlockRow]) -> dict[str, Any]:
    """One block's headline: parameters (short, exact), its share of the UNet, input and output shapes."""
    return {
        "params": (short_count(row.params), f"{row.params:,}"),
        "share": f"{100 * row.params / total_parameters(rows):.1f} %",
        "in": shape_text(row.in_shape),
        "out": shape_text(row.out_shape),
    }


def find_block(rows: list[BlockRow], name: str) -> BlockRow:
    """The block called `name`, else the mid block (a stale link or another UNet), else the first."""
    by_name = {r.name: r for r in rows}
    return by_name.get(name) or by_name.get("mid_block") or rows[0]


def block_label(row: BlockRow) -> str:
    """How a block is listed: "down_blocks.1 · CrossAttnDownBlock2D"."""
    return f"{row.name} · {row.cls}"


def picked_block(selection: Mapping[str, Any]) -> str | None:
    """The block a click in the diagram picked: the "pick" point's name in a chart selection, else None."""
    points = selection.get("pick") or []
    return (points[0].get("name") or None) if points else None


def has_sublayers(row: BlockRow) -> bool:
    """Whether the block holds ResNet or transformer parts (the parts table then needs their story)."""
    return any(p.cls in ("ResnetBlock2D", "Transformer2DModel") for p in row.parts)


def detail_tables(row: BlockRow) -> dict[str, list[dict[str, Any]]]:
    """A block's other tables, only those with rows: "cross" attention, "skips.out" sent, "skips.in" taken."""
    tables = {
        "cross": cross_table(row),
        "skips.out": skip_table(row.skips_out),
        "skips.in": skip_table(row.skips_in),
    }
    return {k: v for k, v in tables.items() if v}


def explain_topic(row: BlockRow) -> str:
    """What explains a block: its kind for conv_in/time/conv_out, else its class ("CrossAttnDownBlock2D")."""
    return row.kind if row.kind in ("in", "out", "time") else row.cls


def mid_attention(rows: list[BlockRow]) -> CrossAttention | None:
    """The mid block's first cross-attention (the smallest image, where the prompt acts most), if any."""
    return next((r.cross_attention[0] for r in rows if r.kind == "mid" and r.cross_attention), None)


# --- tables: plain records (a DataFrame each), keyed by column name ---------------------------


def block_table(rows: list[BlockRow]) -> list[dict[str, Any]]:
    """One record per block: block, class, in, out, params, level, skips (sent / received)."""
    return [
        {
            "block": r.name,
            "class": r.cls,
            "in": shape_text(r.in_shape),
            "out": shape_text(r.out_shape),
            "params": r.params,
            "level": r.level,
            "skips": f"{len(r.skips_out)} / {len(r.skips_in)}",
        }
        for r in rows
    ]


def part_table(row: BlockRow) -> list[dict[str, Any]]:
    """One record per child of `row`, in call order: part, class, out, params, heads (heads × head_dim)."""
    return [
        {
            "part": p.name,
            "class": p.cls,
            "out": shape_text(p.out_shape),
            "params": p.params,
            "heads": f"{p.heads} × {p.head_dim}" if p.heads else "",
        }
        for p in row.parts
    ]


def cross_table(row: BlockRow) -> list[dict[str, Any]]:
    """One record per cross-attention in `row`: where, query and key tokens, dims, heads, scores shape."""
    return [
        {
            "where": a.where,
            "query": a.query_tokens,
            "keys": a.key_tokens,
            "dims": f"{a.query_dim} → {a.key_dim}",
            "heads": f"{a.heads} × {a.head_dim}",
            "scores": shape_text(a.scores_shape),
        }
        for a in row.cross_attention
    ]


def stats_table(stats: list[ActivationStats]) -> list[dict[str, Any]]:
    """One record per block of a live forward pass: name, shape (text), mean, std, min, max."""
    return [{**vars(s), "shape": shape_text(s.shape)} for s in stats]


def skip_table(skips: list[Skip] | tuple[Skip, ...]) -> list[dict[str, Any]]:
    """One record per skip connection, in saving order: index, source, target, shape."""
    return [
        {"index": s.index, "source": s.source, "target": s.target, "shape": shape_text(s.shape)}
        for s in sorted(skips, key=lambda s: s.index)
    ]


# --- the U diagram: where each block and skip arc is drawn (data; ui/unet_diagram.py draws it) ---

# x is the block's place in forward order (one column each), y its level (one row per halving).
BOX_HALF_HEIGHT = 0.36  # of a level's height: boxes of neighbouring levels never touch
BOX_MIN_HALF_WIDTH = 0.3  # of a column: wide enough for "64×64" even for the fewest channels
BOX_CHANNEL_HALF_WIDTH = 0.15  # added for the widest block; the widest box spans 0.9 of its column
ARC_RISE = 0.44  # skip arcs run this far above the higher of their two boxes ...
ARC_LANE = 0.08  # ... plus one lane per neighbouring arc, so parallel arcs stay apart
ARC_LANES = 3
MARGIN_X = 0.5  # columns of room left and right of the outer boxes
MARGIN_TOP = ARC_RISE + ARC_LANE * ARC_LANES + 0.1  # room for the highest arc
MARGIN_BOTTOM = 0.5


@dataclass(frozen=True)
class DiagramBox:
    """One block's box: centred at (x, level), `half_width` wide each side (in columns)."""

    name: str
    cls: str
    label: str  # short name: "conv_in", "down 0", "mid", "up 3"
    size: str  # the latent it works at, "64×64"
    channels: int
    params: int
    x: float
    level: int
    half_width: float


@dataclass(frozen=True)
class DiagramArc:
    """The skip connections from one block to another, as a path of (x, level) points over the boxes."""

    source: str
    target: str
    count: int  # how many tensors travel this way
    points: tuple[tuple[float, float], ...]


def diagram_label(row: BlockRow) -> str:
    """conv_in, conv_out, mid, "down 0", "up 3"."""
    return {"mid": "mid"}.get(row.kind, row.name.replace("_blocks.", " "))


def diagram_layout(rows: list[BlockRow]) -> tuple[list[DiagramBox], list[DiagramArc]]:
    """Boxes at (forward order, resolution level), wider with more channels; skips as arcs above them."""
    blocks = [r for r in rows if r.kind != "time"]
    widest = max(r.channels for r in blocks)
    x = {r.name: i for i, r in enumerate(blocks)}
    level = {r.name: r.level for r in blocks}
    boxes = [
        DiagramBox(
            r.name,
            r.cls,
            diagram_label(r),
            f"{r.in_shape[2]}×{r.in_shape[3]}",
            r.channels,
            r.params,
            x[r.name],
            r.level,
            BOX_MIN_HALF_WIDTH + BOX_CHANNEL_HALF_WIDTH * r.channels / widest,
        )
        for r in blocks
    ]
    pairs: dict[tuple[str, str], int] = {}  # (sending block, receiving block) -> number of skips
    for s in skip_pairs(rows):
        source = s.source if s.source == "conv_in" else ".".join(s.source.split(".")[:2])
        key = (source, s.target.rsplit(".resnets", 1)[0])
        pairs[key] = pairs.get(key, 0) + 1
    arcs = []
    for k, ((src, dst), count) in enumerate(sorted(pairs.items(), key=lambda kv: x[kv[0][0]])):
        top = min(level[src], level[dst]) - ARC_RISE - ARC_LANE * (k % ARC_LANES)
        src_top, dst_top = level[src] - BOX_HALF_HEIGHT, level[dst] - BOX_HALF_HEIGHT
        points = ((x[src], src_top), (x[src], top), (x[dst], top), (x[dst], dst_top))
        arcs.append(DiagramArc(src, dst, count, points))
    return boxes, arcs


# --- with real weights: activations and cross-attention maps for a prompt -----------------------


@dataclass(frozen=True)
class ActivationStats:
    """Summary of one block's output for one forward pass."""

    name: str
    shape: tuple[int, ...]
    mean: float
    std: float
    min: float
    max: float


def prompt_length(tokens: list[str]) -> int:
    """Number of tokens up to and including <|endoftext|> (the rest of the 77 is padding)."""
    for i, tok in enumerate(tokens):
        if tok == "<|endoftext|>":
            return i + 1
    return len(tokens)


def _noisy_latent(unet: torch.nn.Module, latent: tuple[int, int], seed: int) -> torch.Tensor:
    """Pure Gaussian noise (1, C, h, w): what the UNet sees at the first denoising step."""
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, unet.config.in_channels, *latent, generator=generator)
    return noise.to(unet.device, unet.dtype)


def activation_stats(
    unet: torch.nn.Module,
    text_embeddings: torch.Tensor,
    height: int = 512,
    width: int = 512,
    timestep: int = 999,
    seed: int = 0,
) -> list[ActivationStats]:
    """One forward pass on noise (1, 4, h, w) with `text_embeddings` (1, 77, D); each block's output stats."""
    latent = latent_size(height, width)
    names = ["conv_in"] + [f"down_blocks.{i}" for i in range(len(unet.down_blocks))] + ["mid_block"]
    names += [f"up_blocks.{i}" for i in range(len(unet.up_blocks))] + ["conv_out"]
    stats: list[ActivationStats] = []

    def keep(name: str):
        def hook(module, args, output):
            x = _first_tensor(output).detach().float()
            stats.append(
                ActivationStats(
                    name, tuple(x.shape), x.mean().item(), x.std().item(), x.min().item(), x.max().item()
                )
            )

        return hook

    handles = [unet.get_submodule(n).register_forward_hook(keep(n)) for n in names]
    try:
        with torch.no_grad():
            t = torch.tensor([timestep], device=unet.device)
            noise = _noisy_latent(unet, latent, seed)
            unet(noise, t, encoder_hidden_states=text_embeddings, return_dict=False)
    finally:
        for h in handles:
            h.remove()
    return stats


class CrossAttentionRecorder:
    """An attention processor for attn2 that computes attention as diffusers' AttnProcessor does and
    keeps the probabilities, averaged over heads: maps[where] has shape (batch, h*w, 77)."""

    def __init__(self, where: str, maps: dict[str, torch.Tensor]):
        self.where = where
        self.maps = maps

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        """hidden_states (B, h*w, C) attend to encoder_hidden_states (B, 77, D) -> (B, h*w, C)."""
        batch, query_tokens, _ = hidden_states.shape
        text = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        if attn.norm_cross and encoder_hidden_states is not None:
            text = attn.norm_encoder_hidden_states(text)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))  # (B*heads, h*w, head_dim)
        key = attn.head_to_batch_dim(attn.to_k(text))  # (B*heads, 77, head_dim)
        value = attn.head_to_batch_dim(attn.to_v(text))  # (B*heads, 77, head_dim)
        mask = attn.prepare_attention_mask(attention_mask, text.shape[1], batch)
        probs = attn.get_attention_scores(query, key, mask)  # softmax(QKᵀ/√d): (B*heads, h*w, 77)
        self.maps[self.where] = probs.view(batch, attn.heads, query_tokens, -1).mean(1).detach().float()
        out = attn.batch_to_head_dim(torch.bmm(probs, value))  # (B, h*w, heads*head_dim)
        out = attn.to_out[1](attn.to_out[0](out))  # linear projection, dropout
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor


@dataclass(frozen=True)
class AttentionMaps:
    """Cross-attention per prompt token: `per_layer[where]` (77, h_l, w_l); `mean` (77, h, w) over layers."""

    tokens: list[str]
    per_layer: dict[str, torch.Tensor]
    mean: torch.Tensor
    output: torch.Tensor  # the UNet's prediction (1, 4, h, w), identical to a run without recording


def cross_attention_maps(
    unet: torch.nn.Module,
    text_embeddings: torch.Tensor,
    tokens: list[str],
    height: int = 512,
    width: int = 512,
    timestep: int = 999,
    seed: int = 0,
) -> AttentionMaps:
    """Where each of the 77 tokens is looked at, for noise (1, 4, h, w): maps (77, h, w), summing to 1."""
    h, w = latent_size(height, width)
    raw: dict[str, torch.Tensor] = {}
    attn2 = {
        name.rsplit(".transformer_blocks", 1)[0]: m
        for name, m in unet.named_modules()
        if name.endswith(".attn2")
    }
    before = {where: m.processor for where, m in attn2.items()}
    for where, module in attn2.items():
        module.set_processor(CrossAttentionRecorder(where, raw))
    try:
        with torch.no_grad():
            t = torch.tensor([timestep], device=unet.device)
            output = unet(
                _noisy_latent(unet, (h, w), seed), t, encoder_hidden_states=text_embeddings, return_dict=False
            )[0]
    finally:
        for where, module in attn2.items():
            module.set_processor(before[where])
    per_layer = {}
    for where, probs in raw.items():  # (1, h_l*w_l, 77) -> (77, h_l, w_l)
        scale = math.sqrt(h * w / probs.shape[1])
        hl, wl = round(h / scale), round(w / scale)
        per_layer[where] = probs[0].T.reshape(-1, hl, wl).cpu()
    resized = [
        torch.nn.functional.interpolate(m[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        for m in per_layer.values()
    ]
    return AttentionMaps(tokens, per_layer, torch.stack(resized).mean(0), output.detach().float().cpu())


def analyse(
    pipe: Any,
    prompt: str,
    side: int,
    timestep: int,
    report: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ActivationStats], AttentionMaps] | None:
    """A loaded pipeline's UNet on noise at (side, side) px for `prompt`: block statistics and token maps.

    Two forward passes; `report` gets {"progress", "done"} after each; None when `should_stop()` says so.
    """
    from core.diffusion import encode_prompt

    embeddings, tokens = encode_prompt(pipe, prompt)  # (1, 77, D), 77 tokens
    stats = activation_stats(pipe.unet, embeddings, side, side, timestep)
    if report is not None:
        report({"progress": 0.5, "done": 1})
    if should_stop is not None and should_stop():
        return None
    maps = cross_attention_maps(pipe.unet, embeddings, tokens, side, side, timestep)
    if report is not None:
        report({"progress": 1.0, "done": 2})
    return stats, maps


def token_maps(maps: AttentionMaps) -> tuple[list[str], list[torch.Tensor]]:
    """The prompt's tokens up to <|endoftext|> and their mean maps, each stretched to [0, 1]: (h, w) each."""
    n = prompt_length(maps.tokens)
    stretched = [(m - m.min()) / (m.max() - m.min() + 1e-8) for m in maps.mean[:n]]
    return maps.tokens[:n], stretched


def diffusers_class(name: str) -> type:
    """The class behind a part or block name ("ResnetBlock2D", "UNetMidBlock2DCrossAttn", "Conv2d", ...)."""
    import importlib

    for module in (
        "diffusers.models.unets.unet_2d_blocks",
        "diffusers.models.resnet",
        "diffusers.models.downsampling",
        "diffusers.models.upsampling",
        "diffusers.models.transformers.transformer_2d",
        "diffusers.models.embeddings",
        "diffusers.models.unets.unet_2d_condition",
        "torch.nn",
    ):
        cls = getattr(importlib.import_module(module), name, None)
        if isinstance(cls, type):
            return cls
    raise KeyError(name)
