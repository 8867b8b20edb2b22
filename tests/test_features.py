"""core.features: hooks give what a hand-written forward returns (slides, example 7); embeddings are
deterministic and agree with a reference; pictures use the right colour scales."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import features
from core.errors import UserError

HAS_ZOO = importlib.util.find_spec("core.models") is not None and hasattr(
    importlib.import_module("core.models"), "build_model"
)


class SlidesCNN(nn.Module):
    """Slides 002, example 7, written one layer a line so hooks see every step."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5, 1, 2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 5, 1, 2)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.relu1(self.conv1(x))
        x = self.pool1(x)
        x = self.relu2(self.conv2(x))
        x = self.pool2(x)
        return self.out(self.flatten(x))

    def forward_example7(self, x):
        """The slides' own way: return the intermediate results from forward."""
        x1 = F.relu(self.conv1(x))
        x2 = F.max_pool2d(x1, (2, 2))
        x3 = F.relu(self.conv2(x2))
        x4 = F.max_pool2d(x3, (2, 2))
        x5 = x4.view(x4.size(0), -1)
        return [self.out(x5), x1, x2, x3, x4, x5]


class Block(nn.Module):
    """A residual block whose ReLU is called twice and whose output is a sum (no child returns it)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        out = self.relu(self.conv1(x))
        return self.relu(self.conv2(out) + x)


def test_hooks_match_the_slides_example7_shapes_and_values():
    torch.manual_seed(0)
    model = SlidesCNN().eval()
    x = torch.randn(1, 1, 28, 28)
    acts = features.activations(model, x)
    assert list(acts) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "out"]
    shapes = {name: tuple(a.shape[1:]) for name, a in acts.items()}
    assert shapes["relu1"] == (16, 28, 28) and shapes["pool1"] == (16, 14, 14)
    assert shapes["relu2"] == (32, 14, 14) and shapes["pool2"] == (32, 7, 7) and shapes["flatten"] == (1568,)
    out, x1, x2, x3, x4, x5 = model.forward_example7(x)
    names = ("out", "relu1", "pool1", "relu2", "pool2", "flatten")
    for ours, theirs in zip(names, (out, x1, x2, x3, x4, x5), strict=True):
        torch.testing.assert_close(acts[ours], theirs.detach())


def test_hooks_are_removed_even_when_forward_fails():
    model = SlidesCNN()
    with pytest.raises(RuntimeError):
        features.activations(model, torch.randn(1, 3, 28, 28))  # wrong channel count
    assert all(not m._forward_hooks for m in model.modules())
    features.activations(model, torch.randn(2, 1, 28, 28))
    assert all(not m._forward_hooks for m in model.modules())


def test_chosen_layers_and_unknown_layer():
    model = SlidesCNN().eval()
    acts = features.activations(model, torch.randn(3, 1, 28, 28), ["pool2", "conv1"])
    assert list(acts) == ["conv1", "pool2"]  # forward order, not request order
    with pytest.raises(UserError, match="conv9"):
        features.activations(model, torch.randn(1, 1, 28, 28), ["conv9"])


def test_default_is_every_leaf_but_identity_and_a_block_can_be_asked_for():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.Identity(),
        Block(4),
        nn.Sequential(nn.Flatten(), nn.Linear(4 * 784, 10)),
    )
    x = torch.randn(2, 1, 28, 28)
    acts = features.activations(model, x)
    assert list(acts) == ["0", "2.conv1", "2.relu", "2.conv2", "3.0", "3.1"]
    block = features.activations(model, x, ["2"])["2"]  # the residual block's output, asked by name
    torch.testing.assert_close(acts["2.relu"], block)  # the shared ReLU keeps its last call
    torch.testing.assert_close(acts["3.1"], model(x))


def test_the_page_predicts_with_core_train_predict_proba(mnist):
    """One predict function, core.train.predict_proba: the softmax of the hooked model's logits."""
    from core.train import predict_proba

    model = SlidesCNN().eval()
    p = predict_proba(model, mnist.test_x[:4])
    assert p.shape == (4, 10) and not hasattr(features, "predict")
    torch.testing.assert_close(p.sum(1), torch.ones(4))
    logits = list(features.activations(model, features.model_input(mnist.test_x[:4])).values())[-1]
    torch.testing.assert_close(p, F.softmax(logits, dim=1))


def test_default_layers_are_the_reports_three_views():
    model = SlidesCNN()
    acts = features.activations(model, torch.randn(1, 1, 28, 28))
    assert features.default_map_layer(acts) == "conv1"
    assert features.default_embed_layers(model) == ["conv1", "conv2", "out"]  # one fc layer: first conv added
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    assert features.default_map_layer(features.activations(mlp, torch.randn(1, 1, 28, 28))) == "0"
    assert features.default_embed_layers(mlp) == ["1", "3"]  # no conv: the first and last fc layers


def test_a_chosen_layer_is_kept_only_when_the_model_has_it():
    acts = features.activations(SlidesCNN(), torch.randn(1, 1, 28, 28))
    assert features.map_layer(acts, "pool2") == "pool2"
    assert features.map_layer(acts, "") == features.map_layer(acts, "fc9") == "conv1"  # new model, bad link
    assert features.layer_label("pool2", acts["pool2"]) == "pool2 · 32 × 7 × 7"  # the batch left out
    assert features.layer_label("flatten", acts["flatten"]) == "flatten · 1568"
    labels = features.layer_labels(acts)  # the layer list's names, in forward order
    assert list(labels) == list(acts) and labels["pool2"] == "pool2 · 32 × 7 × 7"


def test_the_number_of_mapped_images_follows_the_servers_cap():
    assert features.embed_sizes(5000) == (500, 5000, 100, 1000)  # the default MAX_EMBED_POINTS
    assert features.embed_sizes(20_000) == (500, 5000, 100, 1000)  # never more than 5,000
    assert features.embed_sizes(300) == (300, 300, 1, 300)  # a tiny server: one choice, the cap


def test_the_number_of_mapped_images_reads_the_servers_cap_by_default(monkeypatch):
    from dataclasses import replace

    monkeypatch.setattr(features, "LIMITS", replace(features.LIMITS, max_embed_points=300))  # a small cap
    assert features.embed_sizes() == (300, 300, 1, 300)
    monkeypatch.setattr(features, "LIMITS", replace(features.LIMITS, max_embed_points=5000))
    assert features.embed_sizes() == (500, 5000, 100, 1000)


def test_the_model_source_opens_on_the_trainers_model_when_there_is_one():
    assert features.MODEL_SOURCES == ("session", "upload", "quick")
    assert features.default_model_source(SlidesCNN()) == "session"  # the model the trainer left
    assert features.default_model_source(None) == "quick"


@pytest.mark.skipif(not HAS_ZOO, reason="core.models (trainer, issue #4) not landed yet")
def test_default_embed_layers_of_zoo_models():
    from core.models import build_model

    assert features.default_embed_layers(build_model("two_layer_cnn")) == ["conv2", "fc1", "fc2"]
    assert features.default_embed_layers(build_model("lenet5")) == ["conv2", "fc1", "fc3"]


def test_quick_work_trains_caches_and_stops(tmp_path, monkeypatch):
    """The quick default model: a real (tiny) epoch, cached as a checkpoint every session can load."""
    from core.checkpoint import load_checkpoint_file

    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    monkeypatch.setattr(features, "QUICK_SUBSET", 256)
    records = []
    path = features.quick_work("mlp", seed=1, device="cpu")(records.append, lambda: False)
    assert path == features.quick_path("mlp", 1) and path.parent == tmp_path / "features"
    assert records and records[-1]["progress"] == 1.0 and {"loss", "acc"} <= set(records[-1])
    model, meta = load_checkpoint_file(path)
    assert meta["model"] == "mlp" and 0.0 <= meta["test_acc"] <= 1.0
    assert features.quick_work("lenet5", device="cpu")(records.append, lambda: True) is None  # Stop: no file
    assert not features.quick_path("lenet5").exists()


def test_embedding_table_has_one_map_per_layer_and_method(mnist):
    model = SlidesCNN().eval()
    table = features.embedding_table(model, mnist, ["conv2", "out"], 60, "pca", seed=0)
    assert set(table) == {"index", "digit", "image", "x0_pca", "y0_pca", "x1_pca", "y1_pca"}
    columns = features.embedding_columns(["conv2", "out"], "pca")
    assert columns == [[("conv2", "pca", "x0_pca", "y0_pca"), ("out", "pca", "x1_pca", "y1_pca")]]
    assert [[c[1] for c in row] for row in features.embedding_columns(["fc1"], "both")] == [["pca"], ["tsne"]]
    assert table["digit"][:3] == [str(int(d)) for d in mnist.test_y[:3]] and len(table["x1_pca"]) == 60
    assert table["image"][0].startswith("data:image/png;base64,")
    feats = features.layer_features(model, mnist.test_x[:60], ["out"])["out"]
    np.testing.assert_allclose(table["x1_pca"], features.embed(feats, "pca")[:, 0])


def test_model_input_normalizes_like_core_data(mnist):
    x = features.model_input(mnist.test_x[:5])
    assert x.shape == (5, 1, 28, 28)
    assert abs(float(features.model_input(mnist.test_x[:2000]).mean())) < 0.2  # standardised
    with pytest.raises(UserError):
        features.model_input(torch.zeros(2, 32, 32, dtype=torch.uint8))


@pytest.mark.skipif(not HAS_ZOO, reason="core.models (trainer, issue #4) not landed yet")
def test_every_zoo_model_names_match_summarize_and_shapes_agree():
    from core.models import MODEL_NAMES, build_model, summarize

    for name in MODEL_NAMES:
        model = build_model(name).eval()
        acts = features.activations(model, torch.randn(2, 1, 28, 28))
        rows = {row["layer"]: tuple(row["output_shape"]) for row in summarize(model, (1, 28, 28))}
        assert acts, name
        for layer, act in acts.items():
            assert layer in rows, f"{name}: {layer} not in summarize()"
            assert tuple(act.shape[1:]) == rows[layer], f"{name}.{layer}"
        last = list(acts.values())[-1]
        assert last.shape == (2, 10), f"{name} ends in {tuple(last.shape)}"
        assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.skipif(not HAS_ZOO, reason="core.models (trainer, issue #4) not landed yet")
def test_zoo_slides_cnn_has_the_example7_shapes():
    from core.models import build_model

    acts = features.activations(build_model("slides_cnn").eval(), torch.randn(1, 1, 28, 28))
    shapes = [tuple(a.shape[1:]) for a in acts.values()]
    for expected in [(16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 7, 7), (1568,), (10,)]:
        assert expected in shapes, (expected, shapes)
    order = [shapes.index(s) for s in [(16, 28, 28), (16, 14, 14), (32, 14, 14), (32, 7, 7), (1568,), (10,)]]
    assert order == sorted(order)


@pytest.mark.skipif(not HAS_ZOO, reason="core.models (trainer, issue #4) not landed yet")
def test_two_layer_cnn_shape_walk_28_26_13_11_5():
    from core.models import build_model

    acts = features.activations(build_model("two_layer_cnn").eval(), torch.randn(1, 1, 28, 28))
    sides = [a.shape[-1] for a in acts.values() if a.dim() == 4]
    assert [s for i, s in enumerate(sides) if i == 0 or s != sides[i - 1]] == [26, 13, 11, 5]


# --- embeddings ---------------------------------------------------------------------------------


def _clusters(n=300, d=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = rng.normal(0, 8, (3, d))
    return (centres[labels] + rng.normal(0, 1, (n, d))).astype(np.float32), labels


def test_pca_matches_an_svd_by_hand_up_to_sign():
    x, _ = _clusters()
    ours = features.embed(x, "pca")
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    reference = centred @ vt[:2].T
    assert ours.shape == (300, 2) and ours.dtype == np.float32
    for k in range(2):
        sign = np.sign(ours[:, k] @ reference[:, k])
        np.testing.assert_allclose(ours[:, k] * sign, reference[:, k], rtol=1e-3, atol=1e-3)


def test_tsne_is_deterministic_for_a_seed_and_keeps_clusters():
    x, labels = _clusters(n=150)
    a = features.embed(x, "tsne", seed=3, perplexity=15, max_iter=400)
    b = features.embed(torch.from_numpy(x), "tsne", seed=3, perplexity=15, max_iter=400)
    assert a.shape == (150, 2)
    np.testing.assert_array_equal(a, b)
    # neighbours stay neighbours: each point's nearest neighbour in 2-D shares its cluster
    dist = ((a[:, None] - a[None]) ** 2).sum(-1) + np.eye(len(a)) * 1e9
    assert (labels[dist.argmin(1)] == labels).mean() > 0.95


def test_embed_rejects_what_a_student_can_get_wrong():
    x, _ = _clusters(n=20)
    with pytest.raises(UserError, match="perplexity"):
        features.embed(x, "tsne", perplexity=50)
    with pytest.raises(UserError):
        features.embed(x, "umap")
    with pytest.raises(UserError):
        features.embed(x[:2], "pca")


def test_layer_features_batches_agree_with_one_batch(mnist):
    torch.manual_seed(0)
    model = SlidesCNN().eval()
    images = mnist.test_x[:70]
    batched = features.layer_features(model, images, ["pool2", "out"], batch_size=32)
    whole = features.activations(model, features.model_input(images), ["pool2", "out"])
    assert batched["pool2"].shape == (70, 1568) and batched["out"].shape == (70, 10)
    np.testing.assert_allclose(batched["pool2"], whole["pool2"].flatten(1).numpy(), rtol=1e-5, atol=1e-5)


def test_fingerprint_changes_with_the_weights():
    model = SlidesCNN()
    before = features.model_fingerprint(model)
    assert before == features.model_fingerprint(model)
    with torch.no_grad():
        model.out.bias[0] += 1
    assert features.model_fingerprint(model) != before


# --- pictures -----------------------------------------------------------------------------------


def test_map_grid_layout_and_colour_scales():
    maps = torch.zeros(5, 4, 4)
    maps[0] = 1.0  # non-negative: viridis, its top colour where the maximum is
    grid = features.map_grid(maps, shared_scale=True, cell=8, gap=2)
    assert grid.shape == (2 * 10 - 2, 3 * 10 - 2, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[0, 0], features.VIRIDIS[-1])
    np.testing.assert_array_equal(grid[0, 10], features.VIRIDIS[0])  # channel 1 is 0 on a shared scale
    signed = torch.tensor([[[-2.0, 0.0], [1.0, 2.0]]])
    g = features.map_grid(signed, cell=2, gap=0)  # diverging: white at 0, blue at -max, red at +max
    np.testing.assert_array_equal(g[0, 0], features.DIVERGING[0])
    np.testing.assert_array_equal(g[0, 1], features.DIVERGING[2])
    np.testing.assert_array_equal(g[1, 1], features.DIVERGING[-1])


def test_per_channel_scale_stretches_each_map():
    maps = np.stack([np.linspace(0, 1, 16).reshape(4, 4), np.linspace(0, 100, 16).reshape(4, 4)])
    lo, hi, diverging = features.color_limits(maps, shared=False)
    assert not diverging and list(hi) == [1.0, 100.0]
    lo, hi, _ = features.color_limits(maps, shared=True)
    assert list(hi) == [100.0, 100.0]


def test_first_conv_and_vector_as_maps():
    name, conv = features.first_conv(SlidesCNN())
    assert name == "conv1" and conv.weight.shape == (16, 1, 5, 5)
    assert features.first_conv(nn.Linear(3, 3)) is None
    m = features.vector_as_maps(torch.arange(10.0))
    assert m.shape == (1, 3, 4) and float(m.sum()) == 45.0
    assert features.png_data_url(np.zeros((28, 28), np.uint8)).startswith("data:image/png;base64,")


def test_layer_view_matches_the_slides_forward_and_clamps_the_channel():
    """The page's grid, enlarged channel and its range: pool2 of a hand-written slides forward (example 7)."""
    model = SlidesCNN().eval()
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ref = F.max_pool2d(F.relu(model.conv2(F.max_pool2d(F.relu(model.conv1(x)), 2))), 2)[0]  # (32, 7, 7)
    act = features.activations(model, x)["pool2"][0]
    view = features.layer_view(act, channel=99, shared_scale=True, width=520)
    assert view.channel == 31 and view.shape == "32 × 7 × 7" and not view.signed  # after a ReLU: ≥ 0
    assert (view.lo, view.hi) == (float(ref[31].min()), float(ref[31].max()))
    cell = 520 // 6  # √32 rounded up: 6 columns of 86 px (7 px maps drawn at 12× = 84 px)
    np.testing.assert_array_equal(view.grid, features.map_grid(ref.detach(), shared_scale=True, cell=cell))
    np.testing.assert_array_equal(view.one, features.map_grid(ref[31:].detach(), cell=448))
    flat = features.layer_view(torch.tensor([-1.0, 2.0, 3.0]), channel=-5)  # a vector: one folded map
    assert flat.channel == 0 and len(flat.maps) == 1 and flat.shape == "3" and flat.signed
    assert features.layer_view(torch.zeros(1000, 1, 1)).grid.shape[0] == (32 - 1) * (24 + 2) + 24  # ≥ 24 px


def test_first_kernels_and_embed_layers_fall_back_to_the_reports_views():
    model = SlidesCNN()
    name, kernels = features.first_kernels(model)
    torch.testing.assert_close(kernels, model.conv1.weight.detach()[:, 0])
    assert name == "conv1" and kernels.shape == (16, 5, 5)
    assert features.first_kernels(nn.Sequential(nn.Flatten(), nn.Linear(784, 10))) is None
    view = features.kernel_view(model)  # as the page draws them: 8 a row, 64 px cells, each its own scale
    assert (view.layer, view.count, view.size) == ("conv1", 16, 5)
    assert view.grid.shape == (2 * 62 - 2, 8 * 62 - 2, 3)  # 5 px kernels ×12 = 60 px, 2 apart
    np.testing.assert_array_equal(
        view.grid, features.map_grid(kernels, shared_scale=False, cell=64, columns=8)
    )
    three = features.kernel_view(nn.Sequential(nn.Conv2d(1, 3, 3)))
    assert three.grid.shape == (3 * 21, 3 * (3 * 21 + 2) - 2, 3)  # fewer than 8 kernels: one short row
    assert features.kernel_view(nn.Sequential(nn.Flatten(), nn.Linear(784, 10))) is None
    assert features.embed_layers(model, ["conv2", "out"]) == ["conv2", "out"]
    assert (
        features.embed_layers(model, [])
        == features.embed_layers(model, ["nope"])
        == ["conv1", "conv2", "out"]
    )
    assert features.shape_text((16, 28, 28)) == "16 × 28 × 28"


def test_inspect_digit_is_predict_proba_and_activations_on_one_thread(mnist):
    """The page's one core call: the trainer's probabilities and the hooks' outputs, on one thread."""
    from core.blocks.threads import one_thread
    from core.train import predict_proba

    model = SlidesCNN().eval()
    probs, acts = features.inspect_digit(model, mnist.test_x[4])
    torch.testing.assert_close(probs, predict_proba(model, mnist.test_x[4])[0])
    reference = features.activations(model, features.model_input(mnist.test_x[4]))
    assert list(acts) == list(reference)
    for name in acts:
        torch.testing.assert_close(acts[name], reference[name])
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before  # restored afterwards
