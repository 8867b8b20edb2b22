"""Benchmark: a character GPT on 唐诗三百首 within 3 minutes on this CPU.

Goal (issue 17): after at most 3 minutes of training, (1) at least 80% of the generated verse lines
have the 5- or 7-character rhythm and (2) the validation loss is below a counted bigram model's,
measured in the same run. Prints both figures beside their references (the corpus's own rhythm share,
the bigram and unigram losses).

    .venv/bin/python bench/lm.py                 # the page's long recipe, 180 s cap
    .venv/bin/python bench/lm.py --threads 1     # on a machine shared with others, 1 thread is faster
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from core import gpt, text  # noqa: E402

STEP = "  step {step:4d}  {elapsed:6.1f} s  train {train_loss:.3f}  val {val_loss:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipe", default="long", choices=list(gpt.RECIPES))
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds at most")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    parser.add_argument(
        "--clock",
        default="wall",
        choices=["wall", "cpu"],
        help="what the budget counts: wall seconds, or this process's CPU seconds (fair on a shared machine "
        "with --threads 1: one dedicated core's worth of time, less than a 2-core laptop gives)",
    )
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: the recipe's)")
    parser.add_argument("--no-align", action="store_true", help="random windows instead of line-aligned ones")
    parser.add_argument("--no-clause", action="store_true", help="no clause-position embedding")
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--chars", type=int, default=1000, help="characters per sample for the rhythm count")
    parser.add_argument("--samples", type=int, default=3, help="samples (generation seeds 0, 1, …) counted")
    parser.add_argument(
        "--last", action="store_true", help="end with the last weights, not the best-validation"
    )
    parser.add_argument("--seed", type=int, default=0, help="the training seed (weights and batches)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    corpus = text.load("tang300")
    tok = text.Tokenizer.from_text(corpus.text)
    train_ids, val_ids = text.split(corpus, tok)
    overrides = {
        "seed": args.seed,
        **({"keep_best": False} if args.last else {}),
        **({"steps": args.steps} if args.steps else {}),
    }
    model_cfg, train_cfg = gpt.recipe(
        args.recipe,
        tok.size,
        () if args.no_clause else tok.clause_breaks(),
        align_lines=not args.no_align,
        **overrides,
    )
    model = gpt.build(model_cfg, train_cfg.seed)
    print(f"corpus: tang300, {len(corpus.poems)} poems, {len(corpus.text)} characters, vocabulary {tok.size}")
    print(f"model: {model_cfg}, {gpt.count_parameters(model):,} parameters; {train_cfg}")
    print(f"torch threads: {torch.get_num_threads()}")

    clock = time.process_time if args.clock == "cpu" else time.monotonic
    deadline, cpu0, wall0 = clock() + args.budget, time.process_time(), time.monotonic()
    history = gpt.train(
        model,
        train_ids,
        val_ids,
        train_cfg,
        report=lambda r: print(STEP.format(**r)) if "val_loss" in r else None,
        should_stop=lambda: clock() > deadline,
        tokenizer=tok,
    )
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    val = gpt.evaluate(model, val_ids, 32, 32, tok.index["\n"] if train_cfg.align_lines else None)
    bigram = text.bigram_loss(train_ids, val_ids, tok.size)
    unigram = text.unigram_loss(train_ids, val_ids, tok.size)
    # The page's defaults: prompt 春 (a line start), temperature 0.8, top-k 20.
    poems = "".join(
        "".join(gpt.generate(model, tok, text.PROMPTS["tang300"], args.chars, args.temperature, 20, seed=i))
        for i in range(args.samples)
    )
    share, lines = text.rhythm_share(poems)
    corpus_share, corpus_lines = text.rhythm_share(corpus.text)
    print()
    print(
        f"trained {history.steps} steps: {wall:.1f} s wall, {cpu:.1f} s CPU of this process "
        f"(budget {args.budget:.0f} s {args.clock}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"validation loss: GPT {val:.3f}  vs  bigram {bigram:.3f}  "
        f"(unigram {unigram:.3f}, uniform {text.uniform_loss(tok.size):.3f}) nats/char"
    )
    print(
        f"rhythm: {share:.1%} of {lines} verse lines ({args.samples} samples × {args.chars} characters) "
        "have 5 or 7 characters per clause "
        f"(the corpus itself: {corpus_share:.1%} of {corpus_lines})"
    )
    print(
        f"goal: rhythm >= 80%: {'MET' if share >= 0.8 else 'NOT MET'};  "
        f"val < bigram: {'MET' if val < bigram else 'NOT MET'}"
    )
    print("sample:\n" + poems[:300])
    return 0


if __name__ == "__main__":
    sys.exit(main())
