"""core.blocks against PyTorch: the seed's BasicBlock/ResNet-18 vs torchvision, attention vs SDPA and
nn.MultiheadAttention, the four normalizations vs torch.nn, dropout vs nn.Dropout."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from core.blocks import attention, norm, resnet
from core.errors import UserError

# --- ResNet ---------------------------------------------------------------------------------------


def test_resnet18_is_torchvisions_exactly():
    ours, ref = resnet.resnet18(1000), torchvision.models.resnet18()
    ref_params = sum(p.numel() for p in ref.parameters())
    assert ref_params == resnet.TORCHVISION_PARAMS_1000 == sum(p.numel() for p in ours.parameters())
    shapes = {k: v.shape for k, v in ours.state_dict().items()}
    assert shapes == {k: v.shape for k, v in ref.state_dict().items()}  # same names, same shapes
    ours.load_state_dict(ref.state_dict())  # the completed forward computes what torchvision's does
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), ref.eval()(x), rtol=1e-5, atol=1e-5)


def test_ten_class_total_and_stage_table_match_torchvision():
    ten = sum(p.numel() for p in torchvision.models.resnet18(num_classes=10).parameters())
    assert ten == 11_181_642 == 11_689_512 - 512 * 990 - 990  # the fc shrinks from 1000 to 10 outputs
    table = resnet.stage_table(64, 10)
    assert table.total_params == ten
    assert sum(r.params for r in table.rows) == ten
    ref = torchvision.models.resnet18(num_classes=10).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for name, module in ref.named_children():
            x = torch.flatten(x, 1) if name == "fc" else x
            x = module(x)
            row = next(r for r in table.rows if r.name == name)
            assert row.shape == tuple(x.shape[1:]), name
            assert row.params == sum(p.numel() for p in module.parameters()), name


@pytest.mark.parametrize(
    "size,last", [(224, (512, 7, 7)), (64, (512, 2, 2)), (32, (512, 1, 1)), (28, (512, 1, 1))]
)
def test_stage_table_at_each_input_size(size, last):
    table = resnet.stage_table(size, 1000)
    assert table.total_params == 11_689_512
    assert next(r for r in table.rows if r.name == "layer4").shape == last


def test_seed_004_sizes_come_from_a_stride_1_stem():
    rows = resnet.seed_004_comparison()
    assert all(r["stride1"] == r["report"] for r in rows)
    wrong = [r["layer"] for r in rows if r["stride2"] != r["report"]]
    assert wrong == ["conv1", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    assert next(r for r in rows if r["layer"] == "conv1")["stride2"] == (64, 32, 32)  # torchvision's stem


def test_basic_block_flow_shapes_and_skip_switch():
    one = resnet.block_flow(64, 64, stride=1, size=32)
    assert one.output_shape == (64, 32, 32)
    assert [s.name for s in one.steps if s.path == "shortcut"] == ["identity"]
    two = resnet.block_flow(64, 128, stride=2, size=32)
    assert two.output_shape == (128, 16, 16)
    down = [s for s in two.steps if s.path == "shortcut"]
    assert [s.name for s in down] == ["downsample.0", "downsample.1"]
    assert down[0].shape == (128, 16, 16) and down[0].params == 64 * 128  # the 1×1 conv
    assert two.params == sum(p.numel() for p in torchvision.models.resnet18().layer2[0].parameters())
    off = resnet.block_flow(64, 128, stride=2, size=32, skip=False)
    assert off.output_shape == two.output_shape and "add" not in [s.name for s in off.steps]
    assert off.params == two.params - (64 * 128 + 2 * 128)
    assert off.input_grad_norm < two.input_grad_norm  # the skip gives the gradient a second path


def test_block_forward_is_the_seed_completion():
    torch.manual_seed(0)
    block = resnet.BasicBlock(8, 8).eval()
    x = torch.randn(2, 8, 6, 6)
    by_hand = F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x))))) + x)
    torch.testing.assert_close(block(x), by_hand)
    block.skip = False
    torch.testing.assert_close(block(x), F.relu(block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))))


def test_too_small_an_input_is_a_sentence():
    with pytest.raises(UserError):
        resnet.block_flow(size=1)
    with pytest.raises(UserError):
        resnet.stage_table(0)


# --- attention ------------------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("heads", [1, 2, 4, 8])
def test_attention_equals_sdpa_and_multihead_attention(causal, scaled, heads):
    r = attention.run("The cat sat on the mat because it was warm", "word", 16, heads, causal, scaled, seed=3)
    assert r.sdpa_max_diff <= 1e-6 and r.mha_max_diff <= 1e-6 and r.multi_mha_max_diff <= 1e-6
    # and independently, with our own tensors
    torch.manual_seed(0)
    att = attention.SingleHeadSelfAttention(16)
    x = torch.randn(3, 7, 16)
    with torch.no_grad():
        ref = F.scaled_dot_product_attention(
            att.query(x), att.key(x), att.value(x), is_causal=causal, scale=None if scaled else 1.0
        )
        assert (att(x, causal, scaled) - ref).abs().max() <= 1e-6


def test_attention_steps_are_the_formula():
    r = attention.run("我爱深度学习", "char", 8, 2, causal=True, scaled=True)
    s = r.single
    assert r.tokens == ["我", "爱", "深", "度", "学", "习"]
    torch.testing.assert_close(
        s.scores,
        torch.tril(s.Q @ s.K.transpose(1, 2) / math.sqrt(8))
        + torch.triu(torch.full((6, 6), float("-inf")), 1),
    )
    torch.testing.assert_close(s.weights.sum(-1), torch.ones(1, 6))
    assert float(s.weights[0, 0, 1:].abs().max()) == 0.0  # the first token sees only itself
    assert r.multi.Q.shape == (1, 2, 6, 4) and r.multi.weights.shape == (1, 2, 6, 6)


def test_multi_head_with_one_head_and_identity_projection_is_the_single_head():
    r = attention.run("a b c d", "word", 8, 1)
    mha = attention.MultiHeadSelfAttention(8, 1)
    torch.manual_seed(0)
    single = attention.SingleHeadSelfAttention(8)
    for n in ("query", "key", "value"):
        getattr(mha, n).load_state_dict(getattr(single, n).state_dict())
    with torch.no_grad():
        torch.testing.assert_close(mha.steps(r.x).concat, single(r.x))


def test_tokens_and_embeddings():
    assert attention.tokenize("I love you.", "word") == ["I", "love", "you", "."]
    assert attention.tokenize("我爱 you", "word") == ["我", "爱", "you"]
    assert attention.tokenize("ab c", "char") == ["a", "b", "c"]
    e = attention.embed(["cat", "dog", "cat"], 8, seed=1)
    assert e.shape == (1, 3, 8) and torch.equal(e[0, 0], e[0, 2]) and not torch.equal(e[0, 0], e[0, 1])
    assert not torch.equal(attention.embed(["cat"], 8, seed=2), attention.embed(["cat"], 8, seed=1))


def test_odd_input_gets_a_sentence():
    with pytest.raises(UserError, match="at least one token"):
        attention.tokenize("   ")
    with pytest.raises(UserError, match="500 tokens"):
        attention.tokenize(" ".join(["w"] * 500))
    with pytest.raises(UserError, match="must divide 12"):
        attention.run("one two", heads=8, dim=12)
    r = attention.run("one", dim=8)  # one token: it can only attend to itself
    assert r.single.weights.shape == (1, 1, 1) and float(r.single.weights) == 1.0


def test_scaling_keeps_the_softmax_soft():
    rows = attention.scaling_effect(tokens=8)
    raw = [r for r in rows if not r["scaled"]]
    scaled = [r for r in rows if r["scaled"]]
    for r in raw:  # q·k of two N(0, I_d) vectors has standard deviation √d
        assert abs(r["score_std"] / math.sqrt(r["dim"]) - 1) < 0.1
    assert all(abs(r["score_std"] - 1) < 0.1 for r in scaled)
    assert raw[-1]["max_weight"] > 0.9 and all(r["max_weight"] < 0.5 for r in scaled)
    assert [r["max_weight"] for r in raw] == sorted(r["max_weight"] for r in raw)


# --- normalization --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", norm.KINDS)
def test_element_numbers_equal_torch_nn(kind):
    for element in [(0, 0, 0, 0), (3, 5, 1, 1), (1, 2, 0, 1)]:
        r = norm.normalize_element(kind, (4, 6, 2, 2), element, groups=3, seed=1)
        assert abs(r.by_hand - r.by_torch) < 1e-5
        assert r.count == {"batch": 16, "layer": 24, "instance": 4, "group": 8}[kind]


def test_the_shared_sets_are_the_papers():
    shape, e = (2, 4, 3, 3), (1, 2, 0, 0)
    bn = norm.shares_statistics("batch", shape, e)
    assert bn[:, 2].all() and bn.sum() == 2 * 9
    ln = norm.shares_statistics("layer", shape, e)
    assert ln[1].all() and ln.sum() == 4 * 9
    assert norm.shares_statistics("instance", shape, e).sum() == 9
    gn = norm.shares_statistics("group", shape, e, groups=2)
    assert gn[1, 2:].all() and gn.sum() == 2 * 9
    assert torch.equal(norm.shares_statistics("group", shape, e, groups=1), ln)  # GN(1) = LN
    assert torch.equal(
        norm.shares_statistics("group", shape, e, groups=4), norm.shares_statistics("instance", shape, e)
    )


def test_running_statistics_follow_the_momentum_formula():
    r = norm.running_stats(momentum=0.1, steps=20, batch=8)
    mean, var = 0.0, 1.0
    for bm, bv in zip(r.batch_means, r.batch_vars, strict=True):
        mean, var = 0.9 * mean + 0.1 * bm, 0.9 * var + 0.1 * bv
    assert abs(mean - r.running_means[-1]) < 1e-5 and abs(var - r.running_vars[-1]) < 1e-4
    assert abs(r.running_means[-1] - 3.0) < 1.0  # heading toward the true mean 3
    assert not torch.allclose(r.train_out, r.eval_out)  # eval uses the running statistics


def test_a_batch_of_one_in_training_mode_is_a_sentence():
    with pytest.raises(ValueError, match="more than 1 value"):
        nn.BatchNorm1d(1).train()(torch.ones(1, 1))  # what PyTorch itself says
    with pytest.raises(UserError, match="batch of one"):
        norm.running_stats(batch=1)
    with pytest.raises(UserError):
        norm.normalize_element("batch", (1, 4, 1, 1))
    assert norm.normalize_element("layer", (1, 4, 1, 1)).count == 4  # LN does not need a batch


def test_padding_pollutes_batch_norm_not_layer_norm():
    r = norm.padding_effect((2, 5, 9))
    assert r.ln_shift < 1e-6
    assert r.bn_shift > 0.3
    assert (r.bn_mean_padded < r.bn_mean_real).all()  # the zeros pull the mean down
    x, mask = norm.sentence_batch((2, 5, 9))
    assert int(mask.sum()) == 16 and x.shape == (3, 9, 8) and float(x[0, 2:].abs().max()) == 0.0


def test_too_many_or_empty_sentences_are_a_sentence():
    with pytest.raises(UserError):
        norm.padding_effect(tuple([3] * 13))
    with pytest.raises(UserError):
        norm.padding_effect((3, 0))


def test_group_norm_with_one_group_is_layer_norm_over_chw():
    x = torch.randn(3, 6, 4, 4)
    torch.testing.assert_close(nn.GroupNorm(1, 6)(x), F.layer_norm(x, (6, 4, 4)))


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.9])
def test_dropout_by_hand_equals_nn_dropout(p):
    r = norm.dropout(p, n=20, seed=4)
    assert (r.by_hand - r.by_torch).abs().max() <= 1e-6
    assert torch.equal(r.eval_out, r.x)
    kept = r.by_torch != 0
    torch.testing.assert_close(r.by_torch[kept], r.x[kept] / (1 - p))
    assert abs(r.kept_share - (1 - p)) < 0.01 and abs(r.mean_ratio - 1) < 0.05


def test_dropout_p_one_is_a_sentence():
    with pytest.raises(UserError):
        norm.dropout(1.0)


def test_single_threaded_calls_leave_the_callers_thread_setting_alone():
    from core.blocks.threads import one_thread

    before = torch.get_num_threads()
    seen = []
    with one_thread():
        seen.append(torch.get_num_threads())
    resnet.block_flow(8, 8, 1, 4)
    assert seen == [1] and torch.get_num_threads() == before
