"""The building-blocks pages (residual, attention, normalization): AppTests in both languages.

Every number checked here is recomputed from PyTorch / torchvision in the test itself."""

import re

import pytest
import torch
import torchvision

from tests.conftest import app_test
from ui.i18n import TABLES

RES, ATTN, NORM = "pages/residual.py", "pages/attention.py", "pages/normalization.py"


def metric(at, key: str, lang: str, **fields) -> str:
    label = TABLES[lang][key].format(**fields) if fields else TABLES[lang][key]
    return next(m.value for m in at.metric if m.label == label)


def params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_residual_block_and_table(lang):
    at = app_test(RES, lang, timeout=180)
    assert not at.exception
    assert at.title[0].value == TABLES[lang]["nav.residual"]
    ref = torchvision.models.resnet18()
    assert metric(at, "res.block.out", lang) == "64 × 32 × 32"
    assert metric(at, "res.block.params", lang) == f"{params(ref.layer1[0]):,}"
    assert metric(at, "res.table.total", lang) == f"{params(ref):,}" == "11,689,512"
    assert metric(at, "res.table.torchvision", lang, classes=1000) == "11,689,512"
    at.segmented_control(key="res.stride").set_value(2).run()
    assert metric(at, "res.block.out", lang) == "128 × 16 × 16"
    assert metric(at, "res.block.params", lang) == f"{params(ref.layer2[0]):,}"  # with the 1×1 downsample
    at.toggle(key="res.skip").set_value(False).run()
    assert (
        metric(at, "res.block.params", lang)
        == f"{params(ref.layer2[0]) - params(ref.layer2[0].downsample):,}"
    )
    assert TABLES[lang]["res.block.off"] in [c.value for c in at.caption]
    assert at.query_params["res.stride"] == "2" and at.query_params["res.skip"] == "0"


def test_residual_ten_classes_and_seed_004(lang):
    at = app_test(RES, lang, timeout=180, **{"res.classes": 10, "res.size": 28})
    assert not at.exception
    ten = params(torchvision.models.resnet18(num_classes=10))
    assert metric(at, "res.table.total", lang) == f"{ten:,}" == "11,181,642"
    layers = at.dataframe[0].value
    assert list(layers.iloc[:, 2])[layers.iloc[:, 0].tolist().index("layer4")] == "512 × 1 × 1"
    seed = at.dataframe[1].value
    stride1 = seed[TABLES[lang]["res.seed.stride1"]].tolist()
    stride2 = seed[TABLES[lang]["res.seed.stride2"]].tolist()
    assert stride1[1] == "64 × 64 × 64 ✓" and stride2[1] == "64 × 32 × 32 ✗"
    assert all(v.endswith("✓") for v in stride1)
    assert any("stride=1" in c.value for c in at.code)


@pytest.mark.slow
def test_residual_experiment_runs_as_a_job_and_shows_the_gap():
    at = app_test(RES, "en", timeout=300, **{"res.depth": 20})
    at.button(key="res.run").click().run()  # jobs.watch loops until the job ends, then reruns
    assert not at.exception
    done = [s.value for s in at.success]
    assert done and done[0].startswith("Done: final loss plain")
    plain, chance, res = (float(v) for v in re.findall(r"\d+\.\d+", done[0]))
    assert chance == 2.303 and plain > 2.2 and res < 1.0  # plain stays at chance, residual learns
    shown = [m.value for m in at.markdown]
    assert (
        f"**{TABLES['en']['res.exp.grads']}**" in shown and f"**{TABLES['en']['res.exp.curves']}**" in shown
    )


def test_attention_default_sentence_equals_pytorch(lang):
    at = app_test(ATTN, lang)
    assert not at.exception
    for key, fields in (("attn.check.sdpa", {}), ("attn.check.mha1", {}), ("attn.check.mhan", {"heads": 2})):
        assert float(metric(at, key, lang, **fields)) <= 1e-6
    assert TABLES[lang]["attn.tokens"].format(n=6, tokens="我 | 爱 | 深 | 度 | 学 | 习") in [
        c.value for c in at.caption
    ]
    assert any("F.scaled_dot_product_attention(Q, K, V, is_causal=False)" in c.value for c in at.code)
    at.toggle(key="attn.causal").set_value(True).run()
    at.toggle(key="attn.scaled").set_value(False).run()
    at.segmented_control(key="attn.heads").set_value(8).run()
    assert not at.exception
    assert float(metric(at, "attn.check.mhan", lang, heads=8)) <= 1e-6
    assert any("is_causal=True, scale=1.0" in c.value for c in at.code)
    assert at.query_params["attn.heads"] == "8" and at.query_params["attn.causal"] == "1"


def test_attention_odd_input_gets_sentences(lang):
    at = app_test(ATTN, lang, **{"attn.text": "   "})
    assert not at.exception
    empty = {
        "zh": "请先输入一句话：注意力至少需要一个词元。",
        "en": "Type a sentence first: attention needs at least one token",
    }
    assert at.error[0].value.startswith(empty[lang])
    at.text_input(key="attn.text").set_value("字 " * 500).run()  # 500 tokens, one per character
    assert "500" in at.error[0].value
    at.text_input(key="attn.text").set_value("the cat saw the dog").run()  # "the" twice: two rows
    assert not at.error and not at.exception
    at.text_input(key="attn.text").set_value("Hi").run()  # one token attends to itself with weight 1
    assert not at.error and float(metric(at, "attn.check.sdpa", lang)) <= 1e-6
    at.select_slider(key="attn.dim").set_value(12).run()
    at.segmented_control(key="attn.heads").set_value(8).run()
    assert "12" in at.error[0].value and "8" in at.error[0].value
    assert at.title[0].value == TABLES[lang]["nav.attention"]  # the page is still there
    assert at.dataframe  # the √d section still draws


def test_normalization_numbers_equal_torch_nn(lang):
    at = app_test(NORM, lang)
    assert not at.exception
    assert metric(at, "norm.by_hand", lang) == metric(at, "norm.by_torch", lang)
    for kind, groups in (("layer", 2), ("instance", 2), ("group", 3)):
        at.session_state["norm.groups"] = groups
        at.segmented_control(key="norm.kind").set_value(kind).run()
        assert not at.exception
        assert metric(at, "norm.by_hand", lang) == metric(at, "norm.by_torch", lang), kind
    # the element's value by hand, from torch.nn directly
    from core.blocks.norm import example_batch

    x = example_batch((4, 6, 2, 2), seed=0)
    ref = torch.nn.GroupNorm(3, 6)(x)[0, 0, 0, 0]
    assert metric(at, "norm.by_torch", lang) == f"{float(ref.detach()):.4f}"
    assert at.query_params["norm.kind"] == "group"


def test_normalization_batch_of_one_and_dropout(lang):
    at = app_test(NORM, lang, **{"norm.n": 1, "norm.hw": 1})
    assert not at.exception
    assert at.error[0].value.startswith(
        "训练模式下的 BatchNorm" if lang == "zh" else "BatchNorm in training mode"
    )
    at.slider(key="norm.batch").set_value(1).run()
    assert any(("batch of one" if lang == "en" else "只有一个样本") in e.value for e in at.error)
    at.segmented_control(key="norm.kind").set_value("layer").run()
    assert metric(at, "norm.by_hand", lang) == metric(at, "norm.by_torch", lang)  # LN needs no batch
    at.select_slider(key="norm.p").set_value(0.2).run()
    assert metric(at, "norm.drop.scale", lang) == "1.25"
    table = at.dataframe[-1].value
    hand = table.loc[TABLES[lang]["norm.drop.by_hand"].format(p="0.2")].tolist()
    torch_row = table.loc[TABLES[lang]["norm.drop.by_torch"]].tolist()
    assert hand == torch_row and any(v == 0 for v in hand)
    assert metric(at, "norm.pad.ln_shift", lang) == "0.0e+00"
    assert float(metric(at, "norm.pad.bn_shift", lang)) > 0.3
