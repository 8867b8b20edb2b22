"""The model zoo: the homework's shapes, parameter counts, options, and a functional reference forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import UserError
from core.models import MODEL_NAMES, build_model, build_seeded, count_parameters, model_options, summarize


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_maps_a_batch_to_ten_logits(name):
    model = build_model(name).eval()
    assert model(torch.randn(3, 1, 28, 28)).shape == (3, 10)


def test_two_layer_cnn_follows_the_homework_shape_walk():
    rows = {r["layer"]: r["output_shape"] for r in summarize(build_model("two_layer_cnn"), (1, 28, 28))}
    assert rows["conv1"] == (32, 26, 26)  # 28 → 26: 3×3 kernel, no padding
    assert rows["pool1"] == (32, 13, 13)
    assert rows["conv2"] == (64, 11, 11)
    assert rows["pool2"] == (64, 5, 5)  # 11 → 5: pooling floors
    assert rows["flatten"] == (1600,)
    assert rows["fc1"] == (128,) and rows["fc2"] == (10,)


def test_slides_example_7_activation_shapes():
    rows = summarize(build_model("slides_cnn"))
    shapes = [r["output_shape"] for r in rows if r["type"] in ("Conv2d", "MaxPool2d", "Flatten")]
    assert shapes == [(16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 7, 7), (1568,)]


def test_convnet3_and_bn_cnn_flatten_sizes():
    assert build_model("convnet3").fc1.in_features == 1152
    assert {r["layer"]: r["output_shape"] for r in summarize(build_model("convnet3"))}["pool3"] == (128, 3, 3)
    bn = build_model("bn_cnn")
    assert isinstance(bn.bn1, nn.BatchNorm2d) and isinstance(bn.bn4, nn.BatchNorm1d)
    assert bn.fc1.in_features == 64 * 7 * 7
    assert isinstance(build_model("bn_cnn", batch_norm=False).bn1, nn.Identity)


def test_parameter_counts_match_the_hand_count():
    # conv1 32·(9+1), conv2 64·(32·9+1), fc1 1600·128+128, fc2 128·10+10
    assert count_parameters(build_model("two_layer_cnn")) == 320 + 18_496 + 204_928 + 1_290
    assert count_parameters(build_model("mlp")) == 784 * 256 + 256 + 256 * 10 + 10
    for name in MODEL_NAMES:
        model = build_model(name)
        assert sum(r["params"] for r in summarize(model)) == count_parameters(model), name


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_summary_rows_name_every_hookable_step(name):
    model = build_model(name)
    rows = summarize(model)
    modules = dict(model.named_modules())
    assert all(r["layer"] in modules for r in rows)
    leaves = [
        n for n, m in model.named_modules() if n and not list(m.children()) and not isinstance(m, nn.Identity)
    ]
    assert sorted(r["layer"] for r in rows) == sorted(leaves)  # forward calls every layer exactly once
    assert rows[-1]["output_shape"] == (10,)
    assert model.training  # summarize restores the mode


def test_two_layer_cnn_equals_the_homework_forward_written_with_functional_calls():
    torch.manual_seed(0)
    model = build_model("two_layer_cnn").eval()
    x = torch.randn(4, 1, 28, 28)
    m = model
    ref = F.max_pool2d(F.relu(F.conv2d(x, m.conv1.weight, m.conv1.bias)), 2)
    ref = F.max_pool2d(F.relu(F.conv2d(ref, m.conv2.weight, m.conv2.bias)), 2)
    ref = torch.flatten(ref, 1)
    ref = F.linear(F.relu(F.linear(ref, m.fc1.weight, m.fc1.bias)), m.fc2.weight, m.fc2.bias)
    torch.testing.assert_close(model(x), ref)


def test_options_and_errors():
    assert model_options("two_layer_cnn") == {"dropout": 0.3, "batch_norm": False}
    assert build_model("two_layer_cnn", dropout=0.5).dropout1.p == 0.5
    assert isinstance(build_model("two_layer_cnn", batch_norm=True).bn2, nn.BatchNorm2d)
    with pytest.raises(UserError, match="Unknown model"):
        build_model("vgg16")
    with pytest.raises(UserError, match="no option"):
        build_model("slides_cnn", dropout=0.2)
    with pytest.raises(UserError, match="Dropout"):
        build_model("mlp", dropout=1.5)
    err = pytest.raises(UserError, build_model, "nope").value
    assert "未知" in err.zh


def test_seeded_builds_give_the_same_weights_and_leave_the_global_stream_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = build_seeded("lenet5", 7), build_seeded("lenet5", 7), build_seeded("lenet5", 8)
    assert torch.equal(torch.rand(1), before)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def test_resnet_small_blocks_project_the_shortcut_when_shapes_change():
    model = build_model("resnet_small")
    assert isinstance(model.layer1.downsample, nn.Identity)
    assert model.layer2.downsample[0].stride == (2, 2)
    rows = {r["layer"]: r["output_shape"] for r in summarize(model)}
    assert rows["layer3.relu2"] == (64, 7, 7)
