"""Seed 001's `SingleHeadSelfAttention` with `forward` completed, multi-head splitting, and the √d scaling.

The seed's code, completed (Q, K, V; scores QKᵀ/√d; softmax; `torch.bmm` with V):

    Q = self.query(x)                                   # [B, T, d]
    K = self.key(x)
    V = self.value(x)
    scores = torch.bmm(Q, K.transpose(1, 2)) / math.sqrt(self.embed_dim)   # [B, T, T]
    attn_weights = self.softmax(scores)
    out = torch.bmm(attn_weights, V)                    # [B, T, d]

The reference is `F.scaled_dot_product_attention(Q, K, V)` and `nn.MultiheadAttention` with the same
weights (the tests check both to 1e-6).
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.blocks.threads import single_threaded
from core.errors import UserError

MAX_TOKENS = 32  # a heatmap row per token: more than this is unreadable on a projector
EMBED_DIMS = (6, 8, 12, 16, 24, 32)
HEADS = (1, 2, 4, 8)
SCALING_DIMS = (4, 16, 64, 256, 1024)
_WORD = re.compile(r"[\u4e00-\u9fff]|[^\W_]+|[^\w\s]", re.UNICODE)  # a CJK character, a word, a mark


def tokenize(text: str, mode: str = "word") -> list[str]:
    """Text -> tokens: words (each Chinese character is one) or single characters; a sentence if odd."""
    text = (text or "").strip()
    tokens = [c for c in text if not c.isspace()] if mode == "char" else _WORD.findall(text)
    if not tokens:
        raise UserError(
            "Type a sentence first: attention needs at least one token to look at.",
            "请先输入一句话：注意力至少需要一个词元。",
        )
    if len(tokens) > MAX_TOKENS:
        raise UserError(
            f"That is {len(tokens)} tokens; the page draws at most {MAX_TOKENS} (a T×T heatmap of "
            f"{len(tokens)}×{len(tokens)} cells is unreadable). Shorten the sentence.",
            f"这句话有 {len(tokens)} 个词元，本页最多画 {MAX_TOKENS} 个"
            f"（{len(tokens)}×{len(tokens)} 的热力图无法阅读）。请缩短句子。",
        )
    return tokens


def embed(tokens: list[str], dim: int, seed: int = 0) -> torch.Tensor:
    """tokens -> (1, T, dim): each vector is N(0, 1) drawn from (seed, token): a word keeps its vector."""
    rows = []
    for tok in tokens:
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(tok.encode("utf-8")))
        rows.append(torch.randn(dim, generator=g))
    return torch.stack(rows).unsqueeze(0)  # (1, T, dim)


@dataclass
class AttentionSteps:
    Q: torch.Tensor  # (B, T, d)
    K: torch.Tensor  # (B, T, d)
    V: torch.Tensor  # (B, T, d)
    scores: torch.Tensor  # (B, T, T) QKᵀ/√d (or QKᵀ), -inf above the diagonal when causal
    weights: torch.Tensor  # (B, T, T) each row sums to 1
    out: torch.Tensor  # (B, T, d)


class SingleHeadSelfAttention(nn.Module):
    """The seed's module: (B, T, d) -> (B, T, d). `causal` hides later tokens; `scaled` divides by √d."""

    def __init__(self, embed_dim: int):
        super().__init__()
        self.embed_dim = embed_dim
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.softmax = nn.Softmax(dim=-1)

    def steps(self, x: torch.Tensor, causal: bool = False, scaled: bool = True) -> AttentionSteps:
        """Every intermediate of forward, for the heatmaps. x: (B, T, d)."""
        Q = self.query(x)  # (B, T, d)
        K = self.key(x)  # (B, T, d)
        V = self.value(x)  # (B, T, d)
        scores = torch.bmm(Q, K.transpose(1, 2))  # (B, T, T): how well token i's query matches token j's key
        if scaled:
            scores = scores / math.sqrt(self.embed_dim)  # keeps the scores' spread ~1 whatever d is
        if causal:
            T = x.shape[1]
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))  # token i may not look at j > i
        attn_weights = self.softmax(scores)  # (B, T, T), rows sum to 1
        out = torch.bmm(attn_weights, V)  # (B, T, d): a weighted average of the values
        return AttentionSteps(Q, K, V, scores, attn_weights, out)

    def forward(self, x: torch.Tensor, causal: bool = False, scaled: bool = True) -> torch.Tensor:
        return self.steps(x, causal, scaled).out


@dataclass
class MultiHeadSteps:
    heads: int
    head_dim: int
    Q: torch.Tensor  # (B, nh, T, hs)
    weights: torch.Tensor  # (B, nh, T, T)
    concat: torch.Tensor  # (B, T, d) the heads' outputs side by side
    out: torch.Tensor  # (B, T, d) after the output projection


def check_heads(embed_dim: int, heads: int) -> int:
    """The width of one head, hs = d / nh; a sentence when nh does not divide d."""
    if heads < 1 or embed_dim % heads:
        raise UserError(
            f"{heads} heads cannot split a width of {embed_dim}: each head gets d / heads columns, "
            f"so the number of heads must divide {embed_dim}.",
            f"{heads} 个头无法平分宽度 {embed_dim}：每个头分到 d / 头数 列，所以头数必须能整除 {embed_dim}。",
        )
    return embed_dim // heads


class MultiHeadSelfAttention(nn.Module):
    """nh heads, each in its own hs = d/nh columns, then an output projection: (B, T, d) -> (B, T, d)."""

    def __init__(self, embed_dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, check_heads(embed_dim, heads)
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def steps(self, x: torch.Tensor, causal: bool = False, scaled: bool = True) -> MultiHeadSteps:
        B, T, d = x.shape
        nh, hs = self.heads, self.head_dim
        q = self.query(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = self.key(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = self.value(x).view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        att = q @ k.transpose(-2, -1)  # (B, nh, T, T)
        if scaled:
            att = att / math.sqrt(hs)  # each head scales by its own width
        if causal:
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, d)  # (B, T, d) heads side by side again
        return MultiHeadSteps(nh, hs, q, att, y, self.proj(y))

    def forward(self, x: torch.Tensor, causal: bool = False, scaled: bool = True) -> torch.Tensor:
        return self.steps(x, causal, scaled).out


@dataclass
class Run:
    tokens: list[str]
    x: torch.Tensor  # (1, T, d) the seeded embeddings
    single: AttentionSteps
    multi: MultiHeadSteps
    sdpa_max_diff: float  # |ours - F.scaled_dot_product_attention|, single head
    mha_max_diff: float  # |ours - nn.MultiheadAttention(num_heads=1, same weights, identity out_proj)|
    multi_mha_max_diff: float  # |multi-head ours - nn.MultiheadAttention(num_heads=nh, same weights)|


def reference_sdpa(att: SingleHeadSelfAttention, x: torch.Tensor, causal: bool, scaled: bool) -> torch.Tensor:
    """PyTorch's fused attention on our Q, K, V: (B, T, d)."""
    Q, K, V = att.query(x), att.key(x), att.value(x)
    return F.scaled_dot_product_attention(Q, K, V, is_causal=causal, scale=None if scaled else 1.0)


def to_torch_mha(
    query: nn.Linear,
    key: nn.Linear,
    value: nn.Linear,
    heads: int,
    proj: nn.Linear | None,
    scaled: bool = True,
) -> nn.MultiheadAttention:
    """nn.MultiheadAttention with our weights (in_proj = [Wq; Wk; Wv]; out_proj = I when proj is None).

    nn.MultiheadAttention always divides by √hs; to compare the unscaled version its Wq is multiplied by √hs.
    """
    d = query.in_features
    mha = nn.MultiheadAttention(d, heads, batch_first=True)
    undo = 1.0 if scaled else math.sqrt(d // heads)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([query.weight * undo, key.weight, value.weight]))
        mha.in_proj_bias.copy_(torch.cat([query.bias * undo, key.bias, value.bias]))
        if proj is None:
            mha.out_proj.weight.copy_(torch.eye(d))
            mha.out_proj.bias.zero_()
        else:
            mha.out_proj.weight.copy_(proj.weight)
            mha.out_proj.bias.copy_(proj.bias)
    return mha


def reference_mha(mha: nn.MultiheadAttention, x: torch.Tensor, causal: bool) -> torch.Tensor:
    T = x.shape[1]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if causal else None  # True = may not attend
    return mha(x, x, x, attn_mask=mask, need_weights=False)[0]


@single_threaded
@torch.no_grad()
def run(
    text: str,
    mode: str = "word",
    dim: int = 16,
    heads: int = 1,
    causal: bool = False,
    scaled: bool = True,
    seed: int = 0,
) -> Run:
    """The page's one call: tokens -> embeddings -> one- and multi-head attention, checked with PyTorch."""
    tokens = tokenize(text, mode)
    check_heads(dim, heads)
    x = embed(tokens, dim, seed)  # (1, T, d)
    torch.manual_seed(seed)
    single = SingleHeadSelfAttention(dim).eval()
    multi = MultiHeadSelfAttention(dim, heads).eval()
    with torch.no_grad():  # the multi-head module starts from the same Q, K, V weights
        for name in ("query", "key", "value"):
            getattr(multi, name).load_state_dict(getattr(single, name).state_dict())
    s = single.steps(x, causal, scaled)
    m = multi.steps(x, causal, scaled)
    sdpa = reference_sdpa(single, x, causal, scaled)
    mha1 = reference_mha(to_torch_mha(single.query, single.key, single.value, 1, None, scaled), x, causal)
    mhan = reference_mha(
        to_torch_mha(multi.query, multi.key, multi.value, heads, multi.proj, scaled), x, causal
    )
    return Run(
        tokens,
        x,
        s,
        m,
        float((s.out - sdpa).abs().max()),
        float((s.out - mha1).abs().max()),
        float((m.out - mhan).abs().max()),
    )


def torch_call(dim: int, heads: int, causal: bool, scaled: bool) -> str:
    """The equivalent PyTorch lines, as shown on the page."""
    scale = "" if scaled else ", scale=1.0"
    mask = ", attn_mask=torch.ones(T, T, dtype=torch.bool).triu(1)" if causal else ""
    return (
        f"out = F.scaled_dot_product_attention(Q, K, V, is_causal={causal}{scale})  # (1, T, {dim})\n"
        f"mha = nn.MultiheadAttention({dim}, num_heads={heads}, batch_first=True)\n"
        f"out, weights = mha(x, x, x{mask})"
    )


@dataclass(frozen=True)
class ScalingRow:
    dim: int
    score_std: float  # spread of q·k over the pairs (≈ √d unscaled, ≈ 1 scaled)
    max_weight: float  # mean over rows of the largest softmax weight (1/T = uniform, 1 = one-hot)


@single_threaded
@torch.no_grad()
def scaling_effect(
    tokens: int = 8, dims: tuple[int, ...] = SCALING_DIMS, seed: int = 0
) -> list[dict[str, float]]:
    """For q, k ~ N(0, I_d): how the softmax sharpens with d without the 1/√d (rows for both settings)."""
    rows = []
    for d in dims:
        g = torch.Generator().manual_seed(seed + d)
        q, k = (
            torch.randn(64, tokens, d, generator=g),
            torch.randn(64, tokens, d, generator=g),
        )  # 64 sentences
        raw = q @ k.transpose(1, 2)  # (64, T, T)
        for scaled in (False, True):
            s = raw / math.sqrt(d) if scaled else raw
            w = F.softmax(s, dim=-1)
            rows.append(
                {
                    "dim": d,
                    "scaled": scaled,
                    "score_std": float(s.std()),
                    "max_weight": float(w.amax(-1).mean()),
                }
            )
    return rows
