"""Corpora for the language-model page: 唐诗三百首, 宋词一百首 and English verse, from Debian packages.

    corpus = load("tang300")                 # Corpus: poems, text, source, licence
    tok = Tokenizer.from_text(corpus.text)   # one id per character; decode(encode(s)) == s
    train, val = split(corpus, tok)          # 1-D LongTensors, split by whole poems

The files are read offline from /usr/share/games/fortunes (installed by `make test` / `make run`).
English: the `songs-poems` file of Debian's `fortunes` package, because it is verse (lines with a
rhythm, like the Tang poems), in plain ASCII (a small character vocabulary that a CPU learns in
minutes), 230 KB, and installs offline exactly the same way as `fortunes-zh`.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.errors import UserError

FORTUNES = Path(os.environ.get("FORTUNES_DIR", "/usr/share/games/fortunes"))


@dataclass(frozen=True)
class CorpusInfo:
    file: str  # file name in FORTUNES
    package: str  # Debian package that installs it
    licence: str
    lang: str  # "zh" | "en": what the text is written in


CORPORA = {
    "tang300": CorpusInfo("tang300", "fortunes-zh", "GPL-3.0+", "zh"),
    "song100": CorpusInfo("song100", "fortunes-zh", "GPL-3.0+", "zh"),
    "verse": CorpusInfo("songs-poems", "fortunes", "BSD (fortune-mod)", "en"),
}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # the colour codes tang300/song100 put around titles
PUNCT = "，。？！；、：,.;:?!"
CLAUSE_END = "，。？！；"
PROMPTS = {"tang300": "春", "song100": "月", "verse": "The "}  # a first prompt that works for each corpus


@dataclass(frozen=True)
class Corpus:
    name: str
    poems: tuple[str, ...]  # one string per poem/quotation, lines joined by "\n"
    info: CorpusInfo

    @property
    def text(self) -> str:
        """All poems in one string, separated by a blank line (what the model trains on)."""
        return "\n\n".join(self.poems) + "\n"

    @property
    def source(self) -> str:
        return str(FORTUNES / self.info.file)


def clean(raw: str) -> str:
    """Strip ANSI colour escapes, carriage returns and trailing blanks from a fortune file."""
    text = ANSI.sub("", raw).replace("\r", "")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def parse(raw: str) -> tuple[str, ...]:
    """A fortune file ('%' lines between entries) -> its entries, cleaned, empty ones dropped."""
    entries = re.split(r"^%$", clean(raw), flags=re.MULTILINE)
    out = []
    for entry in entries:
        lines = [ln.replace("\t", " ") for ln in entry.strip("\n").split("\n")]
        lines = [re.sub(r" {2,}", " ", ln).strip() if not ln.startswith(" ") else ln.strip() for ln in lines]
        body = "\n".join(lines).strip()
        body = re.sub(r"\n{2,}", "\n", body)  # the blank line is the poem separator
        if body:
            out.append(body)
    return tuple(out)


def load(name: str) -> Corpus:
    """The corpus `name` (tang300, song100, verse) from Debian's fortune files; names a missing package."""
    if name not in CORPORA:
        raise UserError(
            f"Unknown corpus '{name}': choose one of {', '.join(CORPORA)}.",
            f"没有名为“{name}”的语料：请选择 {', '.join(CORPORA)} 之一。",
        )
    info = CORPORA[name]
    path = FORTUNES / info.file
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise UserError(
            f"The corpus file {path} is missing: install Debian's '{info.package}' package "
            f"(sudo apt-get install {info.package}, or run `make run`, which installs it).",
            f"找不到语料文件 {path}：请安装 Debian 软件包“{info.package}”"
            f"（sudo apt-get install {info.package}，或运行 `make run`，它会安装）。",
        ) from err
    poems = parse(raw)
    if not poems:
        raise UserError(
            f"The corpus file {path} holds no text: reinstall the '{info.package}' package.",
            f"语料文件 {path} 中没有文字：请重新安装软件包“{info.package}”。",
        )
    return Corpus(name, poems, info)


class Tokenizer:
    """Characters <-> integer ids. Id 0 is reserved for characters the corpus never contains."""

    UNKNOWN = "\ufffd"

    def __init__(self, chars: list[str]):
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise UserError(
                "A vocabulary must list distinct single characters.", "词表必须由互不相同的单个字符组成。"
            )
        self.chars = [self.UNKNOWN, *[c for c in chars if c != self.UNKNOWN]]
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> Tokenizer:
        """Every distinct character of `text`, sorted (so the same text always gives the same ids)."""
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.chars)

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` that are not in the vocabulary (distinct, in order of appearance)."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def encode(self, text: str, strict: bool = True) -> list[int]:
        """str -> ids; unknown characters raise a UserError naming them (strict) or map to id 0."""
        missing = self.unknown(text)
        if missing and strict:
            shown = "".join(missing[:12])
            raise UserError(
                f"These characters never occur in the training text, so the model has no id for them: "
                f"{shown}. Use characters from the corpus.",
                f"这些字在训练文本中从未出现，模型没有它们的编号：{shown}。请换用语料中出现过的字。",
            )
        return [self.index.get(c, 0) for c in text]

    def decode(self, ids: list[int] | torch.Tensor) -> str:
        """ids -> str."""
        return "".join(self.chars[int(i)] for i in ids)

    def clause_breaks(self) -> tuple[int, ...]:
        """The ids of the characters that end a clause or a line (，。？！； and the line break)."""
        return tuple(self.index[c] for c in CLAUSE_END + "\n" if c in self.index)


def split(
    corpus: Corpus, tok: Tokenizer, val_fraction: float = 0.1, verse_only: bool | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train ids (N,), validation ids (M,)): every 1/val_fraction-th whole poem goes to validation.

    verse_only (default: for the Chinese corpora) keeps the verse lines of each poem and leaves out titles
    and authors, so that every line the model reads has the metre it should learn.
    """
    if verse_only is None:
        verse_only = corpus.info.lang == "zh"
    poems = ["\n".join(verse_lines(p)) for p in corpus.poems] if verse_only else list(corpus.poems)
    every = max(2, round(1 / val_fraction))
    val = [p for i, p in enumerate(poems) if i % every == every - 1 and p]
    train = [p for i, p in enumerate(poems) if i % every != every - 1 and p]
    as_ids = lambda poems: torch.tensor(tok.encode("\n\n".join(poems) + "\n"), dtype=torch.long)  # noqa: E731
    return as_ids(train), as_ids(val)


def bigram_loss(train: torch.Tensor, val: torch.Tensor, vocab: int, alpha: float = 0.1) -> float:
    """Validation cross-entropy (nats/char) of a counted bigram model, add-alpha smoothed (the baseline)."""
    counts = torch.full((vocab, vocab), alpha, dtype=torch.float64)
    counts.index_put_(
        (train[:-1], train[1:]), torch.ones(len(train) - 1, dtype=torch.float64), accumulate=True
    )
    logp = counts.log() - counts.sum(1, keepdim=True).log()
    return float(-logp[val[:-1], val[1:]].mean())


def unigram_loss(train: torch.Tensor, val: torch.Tensor, vocab: int, alpha: float = 0.1) -> float:
    """Validation cross-entropy of character frequencies alone (no context at all)."""
    counts = torch.bincount(train, minlength=vocab).double() + alpha
    return float(-(counts.log() - counts.sum().log())[val].mean())


def uniform_loss(vocab: int) -> float:
    """ln(V): the loss of a model that knows nothing (every character equally likely)."""
    return math.log(vocab)


@dataclass(frozen=True)
class Prepared:
    """A corpus ready to train on: its tokenizer, train/validation ids and the losses a model must beat."""

    corpus: Corpus
    tok: Tokenizer
    train_ids: torch.Tensor  # (N,)
    val_ids: torch.Tensor  # (M,)
    refs: dict[str, float]  # bigram, unigram, uniform: validation nats/char; rhythm: share of metred lines

    @property
    def facts(self) -> dict[str, Any]:
        """What the page says about the corpus: file, package, licence, sizes."""
        info, ids = self.corpus.info, {"train": len(self.train_ids), "val": len(self.val_ids)}
        counts = {"poems": len(self.corpus.poems), "chars": len(self.corpus.text), "vocab": self.tok.size}
        return {"file": self.corpus.source, "package": info.package, "licence": info.licence, **counts, **ids}


def prepare(name: str) -> Prepared:
    """Load corpus `name`, build its tokenizer, split it, and count the reference losses (closed forms)."""
    corpus = load(name)
    tok = Tokenizer.from_text(corpus.text)
    train_ids, val_ids = split(corpus, tok)
    refs = {
        "bigram": bigram_loss(train_ids, val_ids, tok.size),
        "unigram": unigram_loss(train_ids, val_ids, tok.size),
        "uniform": uniform_loss(tok.size),
        "rhythm": rhythm_share(corpus.text)[0],
    }
    return Prepared(corpus, tok, train_ids, val_ids, refs)


# --- the rhythm of a Tang poem ----------------------------------------------------------------


def verse_lines(text: str) -> list[str]:
    """The verse lines of `text`: ending in 。？！；, not a title (《…》) nor an author line."""
    out = []
    for line in text.split("\n"):
        line = line.strip()
        if line and line[-1] in "。？！；" and not line.startswith(("《", "作者")) and "：" not in line[:4]:
            out.append(line)
    return out


def clauses(line: str) -> list[str]:
    """'床前明月光，疑是地上霜。' -> ['床前明月光', '疑是地上霜']."""
    return [c for c in re.split(f"[{CLAUSE_END}]", line) if c]


def has_rhythm(line: str) -> bool:
    """True when every clause of the line has 5 characters, or every clause has 7 (五言 / 七言)."""
    lengths = {len(c) for c in clauses(line)}
    return lengths in ({5}, {7}) and not any(p in c for c in clauses(line) for p in PUNCT)


def rhythm_share(text: str) -> tuple[float, int]:
    """(share of verse lines with the 5- or 7-character rhythm, number of verse lines) in `text`."""
    lines = verse_lines(text)
    if not lines:
        return 0.0, 0
    return sum(has_rhythm(ln) for ln in lines) / len(lines), len(lines)


def character_counts(text: str) -> Counter:
    """How often each character occurs (for the page's corpus summary)."""
    return Counter(text)
