"""core/gpt against PyTorch references: attention = F.scaled_dot_product_attention, the mask hides the
future, parameter counts, generation, training on the real corpus, the graph, and safe save/load."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core import gpt, text
from core.errors import UserError
from tests.hostile_corpus import checkpoint_cases

SMALL = gpt.GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
CLAUSED = gpt.GPTConfig(**{**SMALL.__dict__, "clause_breaks": (3, 7)})  # ids 3 and 7 end a clause


def small(seed: int = 0, config: gpt.GPTConfig = SMALL) -> gpt.GPT:
    torch.manual_seed(seed)
    return gpt.GPT(config).eval()


def test_attention_equals_scaled_dot_product_attention():
    torch.manual_seed(0)
    attn = gpt.CausalSelfAttention(SMALL).eval()
    x = torch.randn(3, 11, 32)
    B, T, C, nh = 3, 11, 32, 4
    q, k, v = attn.c_attn(x).split(C, dim=2)
    heads = lambda z: z.view(B, T, nh, C // nh).transpose(1, 2)  # noqa: E731
    y = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
    expected = attn.c_proj(y.transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config", [SMALL, CLAUSED], ids=["plain", "clause-positions"])
def test_changing_a_later_token_changes_no_earlier_logit(config):
    model = small(config=config)
    idx = torch.randint(1, 50, (1, 16))
    idx[0, 10] = 3  # a clause break after the change point moves no earlier clause position
    changed = idx.clone()
    changed[0, 9:] = (changed[0, 9:] + 7) % 49 + 1
    a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :9], b[:, :9], rtol=0, atol=0)  # positions 0..8 never saw 9..15
    assert not torch.allclose(a[:, 9:], b[:, 9:])


def test_clause_positions_count_the_characters_of_each_clause():
    tok = text.Tokenizer.from_text("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n")
    idx = torch.tensor([tok.encode("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。")])
    pos = gpt.clause_positions(idx, torch.tensor(tok.clause_breaks()))
    # 五言: 1..5 for the characters, 6 on the mark that ends the clause, "。\n" is a one-character clause
    expected = [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]
    assert pos[0].tolist() == expected
    counted = [len(c) + 1 for c in text.clauses("床前明月光，疑是地上霜。")]
    assert counted == [pos[0, 5].item(), pos[0, 11].item()]  # the marks carry text.clauses' lengths


def test_the_cnn_is_causal_too_and_sees_only_its_receptive_field():
    torch.manual_seed(0)
    cfg = gpt.CNNConfig(vocab_size=50, block_size=16, n_layer=2, n_embd=24, kernel_size=3, dropout=0.0)
    cnn = gpt.CharCNN(cfg).eval()
    assert cfg.receptive_field == 5
    idx = torch.randint(1, 50, (1, 16))
    changed = idx.clone()
    changed[0, 6] = idx[0, 6] % 49 + 1
    a, b = cnn(idx), cnn(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], rtol=0, atol=0)  # the past never sees the future
    moved = (a - b).abs().amax(-1)[0]
    assert (moved[6:11] > 0).all() and (moved[11:] == 0).all()  # output t sees t-4..t: 6 reaches 6..10 only


def test_attention_maps_are_causal_rows_that_sum_to_one():
    model = small()
    maps = gpt.attention_maps(model, list(range(1, 13)))
    assert maps.shape == (2, 4, 12, 12)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 4, 12))
    assert (torch.triu(maps, diagonal=1) == 0).all()
    assert all(not b.attn.keep and b.attn.weights is None for b in model.h)  # switched off again


def test_cnn_like_matches_the_parameter_count_it_computes():
    cfg = gpt.GPTConfig(vocab_size=2579, block_size=32, n_layer=2, n_head=4, n_embd=64)
    n_gpt = gpt.count_parameters(gpt.GPT(cfg))
    cnn = gpt.CharCNN(gpt.cnn_like(cfg))
    assert abs(gpt.count_parameters(cnn) - n_gpt) / n_gpt < 0.03
    # the tied head is counted once: embeddings + blocks + final norm
    expected = sum(p.numel() for n, p in gpt.GPT(cfg).named_parameters())
    assert n_gpt == expected and n_gpt < expected + 2579 * 64


@pytest.mark.parametrize("config", [SMALL, CLAUSED], ids=["plain", "clause-positions"])
def test_parameter_table_adds_up_to_the_model(config):
    model = small(config=config)
    rows = gpt.parameter_table(model)
    top = [r for r in rows if not r["layer"].startswith(" ")]
    assert sum(r["params"] for r in top if r["params"]) == gpt.count_parameters(model)
    assert any("(1, 16, 50)" == r["output"] for r in rows)  # the head's logits over one full window


def test_the_graph_is_a_real_traced_forward_pass():
    assert "wce" in gpt.graph_dot(small(config=CLAUSED), "model")  # the clause positions trace too
    model = small()
    dot = gpt.graph_dot(model, "model")
    assert dot.startswith("digraph") and '"h_0"' in dot and '"lm_head"' in dot and "1×8×32" in dot
    inside = gpt.graph_dot(model, "block")
    assert "softmax" in inside and "masked_fill" in inside and "attn_c_attn" in inside


def test_generation_is_seeded_and_follows_the_prompt():
    tok = text.Tokenizer.from_text("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n")
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.size, block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    a = "".join(gpt.generate(model, tok, "床前", 20, seed=3))
    assert (
        a == "".join(gpt.generate(model, tok, "床前", 20, seed=3)) and a.startswith("床前") and len(a) == 22
    )
    poem = "".join(gpt.generate(model, tok, "", 40, seed=1, heads="明月"))
    starts = [c[0] for line in poem.split("\n") for c in text.clauses(line)]
    assert starts[:2] == ["明", "月"] and poem.rstrip()[-1] in "。？！；"


def test_odd_prompts_get_sentences():
    tok = text.Tokenizer.from_text("床前明月光")
    with pytest.raises(UserError, match="empty"):
        gpt.check_prompt(tok, "", 16)
    with pytest.raises(UserError, match="17 characters"):
        gpt.check_prompt(tok, "明" * 17, 16)
    with pytest.raises(UserError, match="☃"):
        gpt.check_prompt(tok, "明☃", 16)
    with pytest.raises(UserError, match="☃"):
        list(
            gpt.generate(
                gpt.GPT(gpt.GPTConfig(vocab_size=tok.size, block_size=16, n_layer=1, n_head=1, n_embd=8)),
                tok,
                "明",
                5,
                heads="☃",
            )
        )


@pytest.mark.slow
def test_training_on_tang300_beats_the_unigram_baseline_quickly():
    corpus = text.load("tang300")
    tok = text.Tokenizer.from_text(corpus.text)
    train_ids, val_ids = text.split(corpus, tok)
    cfg, tcfg = gpt.recipe("quick", tok.size, steps=60, eval_every=30, eval_batches=2, sample_chars=0)
    model = gpt.GPT(cfg)
    before = gpt.evaluate(model, val_ids, 2)
    records = []
    history = gpt.train(model, train_ids, val_ids, tcfg, report=records.append)
    assert before == pytest.approx(text.uniform_loss(tok.size), abs=0.1)  # an untrained model knows nothing
    assert records[-1]["progress"] == 1.0 and history.steps == 60
    assert history.val_loss < text.unigram_loss(train_ids, val_ids, tok.size)  # it already uses context


def test_save_and_load_round_trip_and_refuse_hostile_files(tmp_path):
    tok = text.Tokenizer.from_text("床前明月光，疑是地上霜。\n")
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.size, block_size=8, n_layer=1, n_head=2, n_embd=8)).eval()
    blob = gpt.save(model, tok, {"corpus": "tang300"})
    loaded, loaded_tok, meta = gpt.load(blob)
    assert loaded_tok.chars == tok.chars and meta["corpus"] == "tang300"
    idx = torch.tensor([tok.encode("床前明月")])
    torch.testing.assert_close(loaded(idx), model(idx))
    assert loaded.lm_head.weight is loaded.wte.weight  # still tied after loading
    cases = checkpoint_cases(tmp_path, model.state_dict() | {"lm_head.weight": torch.zeros(1)})
    for name, path in cases.items():
        if name == "marker":
            continue
        with pytest.raises(UserError) as err:
            gpt.load(path.read_bytes())
        assert err.value.en and err.value.zh
    assert not cases["marker"].exists()  # no pickle was ever run
    cnn = gpt.CharCNN(gpt.CNNConfig(vocab_size=tok.size, block_size=8, n_layer=1, n_embd=8))
    assert isinstance(gpt.load(gpt.save(cnn, tok))[0], gpt.CharCNN)
    cfg = gpt.GPTConfig(tok.size, 8, 1, 2, 8, clause_breaks=tok.clause_breaks())
    claused = gpt.GPT(cfg).eval()
    loaded = gpt.load(gpt.save(claused, tok))[0]  # the break ids survive the JSON header as a tuple
    assert loaded.config == cfg
    torch.testing.assert_close(loaded(idx), claused(idx))


def test_a_forged_header_cannot_ask_for_a_huge_model():
    from safetensors.torch import save as st_save

    forged = st_save(
        {"x": torch.zeros(1)},
        metadata={
            "kind": '"gpt"',
            "vocab": '["a"]',
            "config": (
                '{"vocab_size": 2, "block_size": 100000, "n_layer": 1, '
                '"n_head": 1, "n_embd": 8, "dropout": 0}'
            ),
        },
    )
    with pytest.raises(UserError, match="settings or vocabulary"):
        gpt.load(forged)


def test_a_blank_line_is_never_followed_by_another():
    tok = text.Tokenizer.from_text("床前明月光，疑是地上霜。\n\n举头望明月，低头思故乡。\n")
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.size, block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    nl = tok.index["\n"]
    after_line = gpt.next_distribution(model, tok.encode("床前明月光，疑是地上霜。\n"), newline=nl)
    after_blank = gpt.next_distribution(model, tok.encode("床前明月光，疑是地上霜。\n\n"), newline=nl)
    assert after_line[nl] > 0 and after_blank[nl] == 0  # a poem may end, but no run of blank lines
    assert after_blank.sum().item() == pytest.approx(1.0)


def test_sampling_between_training_steps_leaves_the_model_training():
    model = small(config=gpt.GPTConfig(**{**SMALL.__dict__, "dropout": 0.3})).train()
    gpt.generate_ids(model, [1, 2, 3], 4, seed=0)
    assert model.training  # train() samples at each evaluation; dropout must stay on afterwards
    model.eval()
    gpt.generate_ids(model, [1, 2, 3], 4, seed=0)
    assert not model.training


def test_summary_curve_rows_and_position_rows_are_the_history_and_the_model_reshaped():
    evals = [
        {"step": 0, "train_loss": 4.0, "val_loss": 4.1},
        {"step": 10, "train_loss": 3.0, "val_loss": 2.5},
    ]
    evals.append({"step": 20, "train_loss": 2.0, "val_loss": 2.7})
    history = gpt.History(records=[{"step": 5, "loss": 3.5}, *evals], seconds=1.5, steps=20, best_step=10)
    assert history.summary == {"steps": 20, "s": 1.5, "val": 2.5, "best": 10, "low": 2.5, "low_step": 10}
    rows = gpt.curve_rows({"GPT": history}, ("bigram", 3.3))
    assert len(rows) == 2 * 3 + 2 and {"step": 10, "loss": 2.5, "model": "GPT", "split": "val"} in rows
    assert [r["step"] for r in rows if r["model"] == "bigram"] == [0, 20]  # the reference spans the run
    assert gpt.curve_rows({"GPT": gpt.History()}, ("bigram", 3.3)) == []  # nothing trained: nothing drawn
    ids = torch.randint(0, 50, (400,), generator=torch.Generator().manual_seed(0))
    model = small()
    by_pos = gpt.position_rows({"GPT": model}, ids)
    want = gpt.loss_by_position(model, ids)
    assert [r["context"] for r in by_pos] == list(range(1, SMALL.block_size + 1))
    assert [r["loss"] for r in by_pos] == pytest.approx(want.tolist())


def test_size_of_counts_like_a_built_model_and_draws_nothing_from_the_global_rng():
    """The page counts while a job trains: a build would shift that job's dropout masks."""
    cnn = gpt.cnn_like(SMALL)
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    sizes = (gpt.size_of(SMALL), gpt.size_of(cnn))
    assert torch.equal(before, torch.random.get_rng_state())
    assert sizes == (gpt.count_parameters(small()), gpt.count_parameters(gpt.CharCNN(cnn)))
