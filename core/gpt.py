"""A character-level GPT (nanoGPT's model.py, shrunk for a CPU) and a causal 1-D CNN to compare it with.

    corpus = text.load("tang300"); tok = text.Tokenizer.from_text(corpus.text)
    train_ids, val_ids = text.split(corpus, tok)
    model = GPT(GPTConfig(vocab_size=tok.size))
    history = train(model, train_ids, val_ids, TrainConfig(steps=300))
    print("".join(generate(model, tok, "《", 80)))

Attention is written out (softmax(QKᵀ/√d + causal mask) V) so that its weights can be drawn; a unit test
checks that it equals `F.scaled_dot_product_attention(..., is_causal=True)`.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from core.text import Tokenizer

# --- the Transformer ----------------------------------------------------------------------------


@dataclass
class GPTConfig:
    vocab_size: int = 2580  # characters in the corpus (+1 for the unknown id 0)
    block_size: int = 64  # context length: how many characters the model can look back
    n_layer: int = 3
    n_head: int = 4
    n_embd: int = 96  # width of the residual stream; n_embd % n_head == 0
    dropout: float = 0.1
    clause_breaks: tuple[int, ...] = ()  # ids that end a clause (，。\n…): adds a clause-position embedding

    def __post_init__(self) -> None:
        self.clause_breaks = tuple(int(i) for i in self.clause_breaks)  # a list after a JSON round-trip


class CausalSelfAttention(nn.Module):
    """Multi-head masked self-attention: (B, T, C) -> (B, T, C); keeps its weights when `keep` is set."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)  # q, k, v for all heads at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd = config.n_head, config.n_embd
        mask = torch.tril(torch.ones(config.block_size, config.block_size))
        self.register_buffer("bias", mask.view(1, 1, config.block_size, config.block_size), persistent=False)
        self.keep = False  # set by attention_maps(): store the (B, nh, T, T) weights in self.weights
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size(0), x.size(1), x.size(2)  # batch, time, channels (size(i): torch.fx can trace it)
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        att = att.masked_fill(
            self.bias[:, :, :T, :T] == 0, float("-inf")
        )  # a position never reads the future
        att = F.softmax(att, dim=-1)
        if self.keep:
            self.weights = att.detach()
        y = self.attn_dropout(att) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: (B, T, C) -> (B, T, C) through a 4C hidden layer."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm Transformer block: x + attn(ln(x)), then x + mlp(ln(x)); (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    """Token + position embeddings, n_layer blocks, final LayerNorm, tied head: (B, T) ids -> (B, T, V)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # position embeddings
        if config.clause_breaks:  # characters since the last clause break: where in the line (5 or 7) we are
            self.wce = nn.Embedding(config.block_size + 1, config.n_embd)
            self.register_buffer("breaks", torch.tensor(config.clause_breaks), persistent=False)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying (Press & Wolf 2017), as in GPT-2
        self.apply(_init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by 1/√(2·n_layer)
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(0, idx.size(1), dtype=torch.long, device=idx.device)  # (T,)
        x = self.wte(idx) + self.wpe(pos)  # (B, T, C)
        if self.config.clause_breaks:
            x = x + self.wce(clause_positions(idx, self.breaks))
        x = self.drop(x)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (B, T, vocab_size)


def clause_positions(idx: torch.Tensor, breaks: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, T): 1 + characters since the last break before t (床前明月光， -> 1 2 3 4 5 6).

    A break counts for the characters after it, so "，" itself says how long its clause was; it depends
    on ids[..t] only, so the model stays causal. Before the window's first break it counts from the start.
    """
    pos = torch.arange(idx.size(1), device=idx.device).expand_as(idx)  # (B, T)
    at_break = torch.where(torch.isin(idx, breaks), pos, -1)  # (B, T): t where ids[t] is a break
    last = F.pad(at_break.cummax(dim=1).values[:, :-1], (1, 0), value=-1)  # last break strictly before t
    return pos - last


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding, nn.Conv1d)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


# --- the CNN it is compared with ----------------------------------------------------------------


@dataclass
class CNNConfig:
    vocab_size: int = 2580
    block_size: int = 64  # trained on the same windows as the GPT (it can only use its receptive field)
    n_layer: int = 3
    n_embd: int = 128
    kernel_size: int = 3
    dropout: float = 0.1

    @property
    def receptive_field(self) -> int:
        """How many characters (the current one included) one output can see: 1 + n_layer·(k − 1)."""
        return 1 + self.n_layer * (self.kernel_size - 1)


class CausalConv1d(nn.Conv1d):
    """A Conv1d padded on the left only, so output t sees inputs t-k+1..t: (B, C, T) -> (B, C, T)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.kernel_size[0] - 1, 0)))


class ConvBlock(nn.Module):
    """x + W·GELU(causal_conv(ln(x))), the CNN's Transformer block: (B, T, C) -> (B, T, C)."""

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.ln = nn.LayerNorm(config.n_embd)
        self.conv = CausalConv1d(config.n_embd, 2 * config.n_embd, config.kernel_size)
        self.gelu = nn.GELU()
        self.proj = nn.Linear(2 * config.n_embd, config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.ln(x).transpose(1, 2)).transpose(1, 2)  # (B, T, 2C)
        return x + self.dropout(self.proj(self.gelu(h)))


class CharCNN(nn.Module):
    """Token embeddings, n_layer causal conv blocks, tied head: (B, T) ids -> (B, T, V); no positions."""

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([ConvBlock(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        self.apply(_init_weights)

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.wte(idx))  # (B, T, C)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))  # (B, T, vocab_size)


def count_parameters(model: nn.Module) -> int:
    """Distinct trainable numbers (the tied head is counted once)."""
    return sum(p.numel() for p in model.parameters())


def size_of(config: GPTConfig | CNNConfig) -> int:
    """Parameters of the model `config` describes, counted on the meta device: no weights are made and
    nothing is drawn from the global RNG, whose stream a running job's dropout masks are reading."""
    with torch.device("meta"):
        return count_parameters(GPT(config) if isinstance(config, GPTConfig) else CharCNN(config))


def cnn_like(config: GPTConfig, kernel_size: int = 3) -> CNNConfig:
    """A CNNConfig with the GPT's depth, context and vocabulary; its width matches the parameter count."""
    target = size_of(config)
    best = None
    for width in range(16, 1025, 4):
        cnn = CNNConfig(
            config.vocab_size, config.block_size, config.n_layer, width, kernel_size, config.dropout
        )
        per_block = (2 * kernel_size + 2) * width * width + 5 * width  # ln, conv (C -> 2C), proj (2C -> C)
        n = config.vocab_size * width + config.n_layer * per_block + 2 * width  # + tied embedding, ln_f
        if best is None or abs(n - target) < abs(best[0] - target):
            best = (n, cnn)
    return best[1]


# --- training -----------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3  # AdamW; cosine decay to lr/10 after a short warm-up
    warmup: int = 20
    weight_decay: float = 0.1
    eval_every: int = 50
    eval_batches: int = 8
    sample_chars: int = 48  # a short sample at each evaluation, so the page shows the text improving
    align_lines: bool = True  # windows start at a line start, so position embeddings carry the metre
    keep_best: bool = True  # early stopping: end with the weights of the lowest validation loss
    seed: int = 0
    device: str = "cpu"


def line_starts(ids: torch.Tensor, block_size: int, newline: int | None) -> torch.Tensor | None:
    """Indices right after a line break that leave room for a whole window (None: no alignment)."""
    if newline is None:
        return None
    starts = (ids[:-1] == newline).nonzero().flatten() + 1
    starts = starts[ids[starts] != newline]  # a blank line between poems is not a line start
    starts = starts[starts < len(ids) - block_size - 1]
    return starts if len(starts) else None


def get_batch(
    ids: torch.Tensor,
    block_size: int,
    batch_size: int,
    gen: torch.Generator,
    starts: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows (from `starts` when given): (x, y) both (B, T), y is x shifted one character left."""
    if starts is not None:
        ix = starts[torch.randint(len(starts), (batch_size,), generator=gen)]
    else:
        ix = torch.randint(len(ids) - block_size - 1, (batch_size,), generator=gen)
    x = torch.stack([ids[i : i + block_size] for i in ix])
    y = torch.stack([ids[i + 1 : i + 1 + block_size] for i in ix])
    return x, y


def lm_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats per character) of predicting y from x, both (B, T)."""
    logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))


@torch.no_grad()
def evaluate(
    model: nn.Module, ids: torch.Tensor, batches: int = 8, batch_size: int = 32, newline: int | None = None
) -> float:
    """Mean loss over `batches` fixed windows of `ids` (the same windows every time: comparable numbers)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(1234)
    starts = line_starts(ids, model.block_size, newline)
    losses = []
    for _ in range(batches):
        x, y = get_batch(ids, model.block_size, batch_size, gen, starts)
        losses.append(lm_loss(model, x.to(device), y.to(device)).item())
    model.train(was_training)
    return sum(losses) / len(losses)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to lr/10 at the last step (nanoGPT's schedule)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    ratio = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr / 10 + 0.5 * (1 + math.cos(math.pi * min(1.0, ratio))) * (cfg.lr - cfg.lr / 10)


@dataclass
class History:
    records: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    best_step: int = 0  # the step whose weights the model ends with (keep_best)

    @property
    def evals(self) -> list[dict[str, Any]]:
        return [r for r in self.records if "val_loss" in r]

    @property
    def val_loss(self) -> float:
        """The validation loss of the weights the model ends with."""
        kept = [r for r in self.evals if r["step"] == self.best_step] or self.evals[-1:]
        return kept[-1]["val_loss"] if kept else float("nan")

    @property
    def summary(self) -> dict[str, Any]:
        """What a finished run says: steps, seconds, the kept weights' val loss and step, the lowest one."""
        low = min(self.evals, key=lambda r: r["val_loss"], default={"val_loss": self.val_loss, "step": 0})
        kept = {"val": self.val_loss, "best": self.best_step}
        return {
            "steps": self.steps,
            "s": self.seconds,
            **kept,
            "low": low["val_loss"],
            "low_step": low["step"],
        }


def curve_rows(histories: dict[str, History], reference: tuple[str, float] | None = None) -> list[dict]:
    """Long rows {step, loss, model, split (train|val)} of each named History's evaluations; `reference`
    (name, loss) adds a flat val line across the same steps (the counted bigram's loss)."""
    rows = [
        {"step": r["step"], "loss": r[f"{split}_loss"], "model": name, "split": split}
        for name, history in histories.items()
        for r in history.evals
        for split in ("train", "val")
    ]
    if rows and reference is not None:
        steps = [r["step"] for r in rows]
        rows += [
            {"step": s, "loss": reference[1], "model": reference[0], "split": "val"}
            for s in (min(steps), max(steps))
        ]
    return rows


def train(
    model: nn.Module,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    cfg: TrainConfig,
    report: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    tokenizer: Tokenizer | None = None,
) -> History:
    """AdamW on random windows; every eval_every steps: train/val loss (+ a sample) through `report`."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    model.to(device).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]  # weights decay, biases and norms do not
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.99),
    )
    newline = tokenizer.index.get("\n") if tokenizer is not None and cfg.align_lines else None
    starts = line_starts(train_ids, model.block_size, newline)
    history, start = History(), time.monotonic()
    best_state: dict[str, torch.Tensor] | None = None
    report = report or (lambda record: None)
    for step in range(cfg.steps):
        if should_stop is not None and should_stop():
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        x, y = get_batch(train_ids, model.block_size, cfg.batch_size, gen, starts)
        loss = lm_loss(model, x.to(device), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        record = {"step": step + 1, "loss": loss.item(), "progress": (step + 1) / cfg.steps}
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps or step == 0:
            record["train_loss"] = evaluate(model, train_ids, cfg.eval_batches, cfg.batch_size, newline)
            record["val_loss"] = evaluate(model, val_ids, cfg.eval_batches, cfg.batch_size, newline)
            if tokenizer is not None and cfg.sample_chars:
                start_ids = train_ids[:1].tolist()
                out = generate_ids(model, start_ids, cfg.sample_chars, 0.8, 20, 0, newline)
                record["sample"] = tokenizer.decode(out)
            if not cfg.keep_best:
                history.best_step = step + 1
            elif best_state is None or record["val_loss"] < history.val_loss:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                history.best_step = step + 1
        record["elapsed"] = time.monotonic() - start
        history.records.append(record)
        history.steps = step + 1
        report(record)
    history.seconds = time.monotonic() - start
    if cfg.keep_best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


RECIPES = {  # name -> (GPTConfig fields, TrainConfig fields); the page and bench/lm.py use these
    "tiny": (
        {"block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16},
        {"steps": 4, "eval_every": 2, "eval_batches": 1, "batch_size": 4, "sample_chars": 4},
    ),
    "quick": (  # clause positions on (the page passes the corpus's break ids): the metre is learnt early
        {"block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0},
        {"steps": 200, "eval_every": 25, "lr": 3e-3},
    ),
    "long": (  # bench/lm.py: 800 slow steps; the metre keeps improving after the validation loss has
        # flattened (about step 400), so this recipe ends with its last weights
        {"block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64, "dropout": 0.0},
        {"steps": 800, "eval_every": 50, "lr": 1e-3, "keep_best": False},
    ),
}


def build(config: GPTConfig | CNNConfig, seed: int = 0) -> nn.Module:
    """A GPT or a CharCNN with weights drawn from `seed` (the same seed, the same model)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GPT(config) if isinstance(config, GPTConfig) else CharCNN(config)


def recipe(
    name: str, vocab_size: int, clause_breaks: tuple[int, ...] = (), **train_overrides: Any
) -> tuple[GPTConfig, TrainConfig]:
    """The (model, training) configs of a named recipe for a vocabulary of `vocab_size` characters."""
    model_fields, train_fields = RECIPES[name]
    model_fields = {**model_fields, "clause_breaks": clause_breaks}
    train_cfg = TrainConfig(**{**train_fields, **train_overrides})
    cap = os.environ.get("LM_MAX_STEPS", "")  # a hosted class (or a browser test) caps the steps per run
    if cap.isdigit() and int(cap) > 0:
        train_cfg.steps = min(train_cfg.steps, int(cap))
        train_cfg.eval_every = min(train_cfg.eval_every, max(1, train_cfg.steps // 4))
    return GPTConfig(vocab_size=vocab_size, **model_fields), train_cfg


# --- generation ---------------------------------------------------------------------------------


def check_prompt(tok: Tokenizer, prompt: str, block_size: int) -> list[int]:
    """The prompt's ids; an empty, unknown-character or longer-than-context prompt gets a sentence."""
    if not prompt:
        raise UserError(
            "The prompt is empty: give the model at least one character to continue "
            "(for a new poem start with 《 or a blank line).",
            "提示为空：请至少给模型一个字来接着写（新写一首诗可以用《开头）。",
        )
    if len(prompt) > block_size:
        raise UserError(
            f"The prompt has {len(prompt)} characters, but this model reads at most {block_size} "
            "(its context length, block_size): shorten the prompt or train with a longer context.",
            f"提示有 {len(prompt)} 个字，但这个模型最多只能读 {block_size} 个字（上下文长度 block_size）："
            "请缩短提示，或用更长的上下文重新训练。",
        )
    return tok.encode(prompt)


def context_window(ids: list[int], block_size: int, newline: int | None = None) -> list[int]:
    """What the model reads: the last block_size ids, from a line start when trained on aligned windows."""
    window = ids[-block_size:]
    if newline is not None and len(ids) > block_size and newline in window[:-1]:
        window = window[window.index(newline) + 1 :]
        while len(window) > 1 and window[0] == newline:  # skip a blank line too
            window = window[1:]
    return window


@torch.no_grad()
def next_distribution(
    model: nn.Module,
    ids: list[int],
    temperature: float = 1.0,
    top_k: int | None = None,
    newline: int | None = None,
) -> torch.Tensor:
    """Probabilities (V,) of the character after `ids` (its context window), after temperature and top-k."""
    device = next(model.parameters()).device
    context = torch.tensor([context_window(ids, model.block_size, newline)], dtype=torch.long, device=device)
    logits = model(context)[0, -1, :].float() / max(temperature, 1e-4)  # (V,)
    logits[0] = -float("inf")  # never write the "unknown character" id
    if newline is not None and ids[-2:] == [newline, newline]:
        logits[newline] = -float("inf")  # a blank line ends a poem; the corpus never has two in a row
    if top_k is not None and 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits[logits < kth] = -float("inf")
    return F.softmax(logits, dim=-1).cpu()


def generate_ids(
    model: nn.Module,
    ids: list[int],
    n: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    newline: int | None = None,
) -> list[int]:
    """`n` new ids sampled after `ids` (returned without the prompt)."""
    gen = torch.Generator().manual_seed(seed)
    was_training = model.training  # train() samples between steps: give it back in training mode
    model.eval()
    out: list[int] = []
    for _ in range(n):
        probs = next_distribution(model, ids + out, temperature, top_k, newline)
        out.append(int(torch.multinomial(probs, 1, generator=gen)))
    model.train(was_training)
    return out


def generate(
    model: nn.Module,
    tok: Tokenizer,
    prompt: str,
    n: int = 100,
    temperature: float = 0.8,
    top_k: int | None = 20,
    seed: int = 0,
    heads: str = "",
) -> Iterator[str]:
    """Yield the prompt, then one sampled character at a time (for st.write_stream).

    `heads` makes a 藏头诗: each clause (after a line break or "，") starts with the next character
    of `heads`; a finished line ("。？！；") is followed by a line break; the poem ends after the
    last head's line.
    """
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    for c in heads:
        if c not in tok.index:
            tok.encode(heads)  # raises the sentence that names the unknown characters
    todo = list(heads)
    if heads and not prompt:  # the poem starts with its first head (a line start, as in training)
        prompt = todo.pop(0)
    ids = check_prompt(tok, prompt, model.block_size)
    yield prompt
    for _ in range(n if not heads else n + 16 * len(heads)):
        prev = tok.chars[ids[-1]]
        if heads and prev in "。？！；":
            if not todo:
                return
            forced = "\n"
        elif heads and prev in "，\n" and todo:
            forced = todo.pop(0)
        else:
            forced = None
        if forced is not None:
            nxt = tok.index[forced]
        else:
            probs = next_distribution(model, ids, temperature, top_k, tok.index.get("\n"))
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            if heads and not todo and tok.chars[nxt] == "，":  # the last head's clause closes the poem
                nxt = tok.index.get("。", nxt)
        ids.append(nxt)
        yield tok.chars[nxt]


# --- looking inside -----------------------------------------------------------------------------


@torch.no_grad()
def attention_maps(model: GPT, ids: list[int]) -> torch.Tensor:
    """Attention weights (n_layer, n_head, T, T) over `ids` (≤ block_size): row = the writing position."""
    attns = [block.attn for block in model.h]
    for a in attns:
        a.keep = True
    try:
        device = next(model.parameters()).device
        model.eval()(torch.tensor([ids[-model.block_size :]], dtype=torch.long, device=device))
        return torch.stack([a.weights[0].cpu() for a in attns])  # (L, nh, T, T)
    finally:
        for a in attns:
            a.keep, a.weights = False, None


@torch.no_grad()
def loss_by_position(
    model: nn.Module, ids: torch.Tensor, windows: int = 256, seed: int = 0, newline: int | None = None
) -> torch.Tensor:
    """Mean loss (block_size,) at each position of a window: position t has seen t+1 characters of context."""
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    x, y = get_batch(ids, model.block_size, windows, gen, line_starts(ids, model.block_size, newline))
    logits = model(x.to(device))  # (W, T, V)
    loss = F.cross_entropy(logits.transpose(1, 2), y.to(device), reduction="none")  # (W, T)
    return loss.mean(0).cpu()


def position_rows(models: dict[str, nn.Module], ids: torch.Tensor, newline: int | None = None) -> list[dict]:
    """Rows {context (characters seen), loss, model} of `loss_by_position` for each named model."""
    return [
        {"context": t + 1, "loss": float(loss), "model": name}
        for name, model in models.items()
        for t, loss in enumerate(loss_by_position(model, ids, newline=newline))
    ]


def parameter_table(model: nn.Module, depth: int = 2) -> list[dict[str, Any]]:
    """torchinfo's per-layer table for a forward pass on one full window: layer, output shape, parameters."""
    from torchinfo import summary

    x = torch.zeros(1, model.block_size, dtype=torch.long, device=next(model.parameters()).device)
    info = summary(model, input_data=x, depth=depth, verbose=0, col_names=("output_size", "num_params"))
    rows, seen = (
        [],
        {d: set() for d in range(1, depth + 1)},
    )  # a tied weight is counted where it first appears
    for layer in info.summary_list:
        if layer.depth == 0 or layer.depth > depth:
            continue
        fresh = [p for p in layer.module.parameters() if id(p) not in seen[layer.depth]]
        seen[layer.depth].update(id(p) for p in fresh)
        rows.append(
            {
                "layer": "  " * (layer.depth - 1)
                + layer.get_layer_name(show_var_name=True, show_depth=False),
                "output": str(tuple(layer.output_size)) if layer.output_size else "",
                "params": sum(p.numel() for p in fresh),
            }
        )
    return rows


def graph_dot(model: nn.Module, part: str = "model") -> str:
    """Graphviz DOT of a real forward pass traced by torch.fx, edges labelled with tensor shapes.

    part="model": blocks shown as one box each; part="block": inside the first block (attention expanded).
    """
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    x = torch.zeros(1, min(8, model.block_size), dtype=torch.long, device=next(model.parameters()).device)
    if part == "block":
        target = model.h[0]
        leaves = (nn.Linear, nn.LayerNorm, nn.Dropout, nn.GELU, nn.Conv1d)
        with torch.no_grad():
            sample = model.drop(
                model.wte(x) + (model.wpe(torch.arange(x.size(1))) if hasattr(model, "wpe") else 0)
            )
    else:
        target, leaves, sample = (
            model,
            (Block, ConvBlock, nn.Linear, nn.LayerNorm, nn.Dropout, nn.Embedding),
            x,
        )

    class Tracer(fx.Tracer):
        proxy_buffer_attributes = True  # the causal mask buffer becomes a graph input, sliced by the traced T

        def is_leaf_module(self, m: nn.Module, name: str) -> bool:
            return isinstance(m, leaves)

    graph = Tracer().trace(target)
    gm = fx.GraphModule(target, graph)
    was = target.training
    target.eval()
    ShapeProp(gm).propagate(sample)
    target.train(was)
    lines = [
        "digraph G {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#666666"];',
    ]
    colours = {"placeholder": "#dbe9f6", "call_module": "#fde2c4", "output": "#dbe9f6"}
    hidden = {n for n in gm.graph.nodes if n.op == "get_attr" or n.target is getattr}  # buffers, .device
    for node in gm.graph.nodes:
        if node in hidden:
            continue
        label = node.name
        if node.op == "call_module":
            label = f"{node.target}\\n{type(gm.get_submodule(node.target)).__name__}"
        elif node.op in ("call_function", "call_method"):
            fn = (
                node.target
                if isinstance(node.target, str)
                else getattr(node.target, "__name__", str(node.target))
            )
            label = fn
        colour = colours.get(node.op, "#eeeeee")
        lines.append(f'  "{node.name}" [label="{label}", fillcolor="{colour}"];')
        for arg in node.all_input_nodes:
            if arg in hidden:
                continue
            meta = arg.meta.get("tensor_meta")
            shape = "×".join(str(s) for s in meta.shape) if hasattr(meta, "shape") else ""
            lines.append(f'  "{arg.name}" -> "{node.name}" [label=" {shape}"];')
    lines.append("}")
    return "\n".join(lines)


# --- save and load (safetensors, never pickle) --------------------------------------------------

LIMITS = {
    "vocab_size": 20_000,
    "block_size": 1024,
    "n_layer": 16,
    "n_head": 16,
    "n_embd": 1024,
    "kernel_size": 33,
}


def save(model: nn.Module, tok: Tokenizer, meta: dict[str, Any] | None = None) -> bytes:
    """The model as safetensors bytes: weights plus JSON metadata (kind, config, vocabulary, `meta`)."""
    from safetensors.torch import save as st_save

    kind = "gpt" if isinstance(model, GPT) else "cnn"
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    info = {"kind": kind, "config": asdict(model.config), "vocab": tok.chars[1:], **(meta or {})}
    return st_save(state, metadata={k: json.dumps(v, ensure_ascii=False) for k, v in info.items()})


def _refuse(en: str, zh: str) -> UserError:
    return UserError(
        f"This is not a language model saved by this page ({en}). "
        "Upload a .safetensors file from its Save button.",
        f"这不是本页面保存的语言模型（{zh}）。请上传用本页“保存”按钮得到的 .safetensors 文件。",
    )


def load(data: bytes) -> tuple[nn.Module, Tokenizer, dict[str, Any]]:
    """(model in eval mode, tokenizer, metadata) from `save`'s bytes; anything else gets a sentence."""
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load

    from core.checkpoint import read_metadata

    meta = read_metadata(data)  # refuses pickles, empty, truncated and non-JSON headers with a sentence
    kind, config, vocab = meta.get("kind"), meta.get("config"), meta.get("vocab")
    if kind not in ("gpt", "cnn") or not isinstance(config, dict) or not isinstance(vocab, list):
        raise _refuse("it does not say which language model it holds", "文件没有说明保存的是哪种语言模型")
    cls, model_cls = (GPTConfig, GPT) if kind == "gpt" else (CNNConfig, CharCNN)
    try:
        cfg = cls(**config)
        if any(not 0 < getattr(cfg, k) <= v for k, v in LIMITS.items() if hasattr(cfg, k)):
            raise ValueError("size out of range")
        if not 0 <= cfg.dropout < 1 or (kind == "gpt" and cfg.n_embd % cfg.n_head):
            raise ValueError("bad setting")
        tok = Tokenizer([str(c) for c in vocab])
    except (TypeError, ValueError, UserError) as err:
        raise _refuse("its settings or vocabulary are not valid", "其中的设置或词表无效") from err
    if tok.size != cfg.vocab_size:
        raise _refuse("its vocabulary does not match the model", "词表与模型不匹配")
    try:
        state = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise _refuse("the tensors are cut off or damaged", "张量数据被截断或已损坏") from err
    model = model_cls(cfg)
    state["lm_head.weight"] = state.get("wte.weight", torch.empty(0))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise _refuse("the layer names or shapes do not fit", "层的名字或形状不匹配") from err
    return model.eval(), tok, meta


def attention_picture(weights: torch.Tensor, scale: int = 4) -> np.ndarray:
    """(T, T) attention weights -> uint8 RGB (T·s, T·s): white→blue by weight, the masked future grey."""

    w = weights.float().numpy()
    w = w / max(float(w.max()), 1e-9)
    white, blue, grey = np.array([255, 255, 255]), np.array([8, 48, 107]), np.array([200, 200, 200])
    rgb = white + w[..., None] * (blue - white)  # (T, T, 3)
    future = np.triu(np.ones_like(w, dtype=bool), k=1)
    rgb[future] = grey
    return np.kron(rgb, np.ones((scale, scale, 1))).astype(np.uint8)
