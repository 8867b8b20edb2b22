"""core.train on real MNIST: it learns, it is deterministic, it stops, and its pieces match references."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from core.data import normalize
from core.errors import UserError
from core.limits import LIMITS
from core.models import build_model, build_seeded
from core.train import (
    TrainConfig,
    classification_objective,
    confusion_matrix,
    evaluate,
    fit,
    misclassified,
    per_class_accuracy,
    predict_proba,
)


@pytest.mark.slow
def test_a_short_real_run_learns(mnist):
    model = build_seeded("two_layer_cnn", 0)
    before = evaluate(model, mnist, limit=2000)["acc"]
    epochs, steps = [], []
    history = fit(
        model,
        mnist,
        TrainConfig(train_subset=4000, batch_size=64, lr=3e-3, eval_subset=2000),
        on_step=steps.append,
        on_epoch=epochs.append,
    )
    after = evaluate(model, mnist, limit=2000)["acc"]
    assert before < 0.3
    assert after >= 0.90, after  # 4,000 real images, one epoch
    assert history.epochs[-1]["test_acc"] == pytest.approx(after, abs=1e-6)
    assert history.images == 4000 and not history.stopped
    assert steps and all(isinstance(v, float) for r in steps for v in r.values())
    assert epochs == history.epochs
    assert steps[-1]["progress"] == 1.0 and history.steps[-1]["test_acc"] == epochs[-1]["test_acc"]
    assert history.steps[0]["loss"] > history.steps[-1]["loss"]


def test_same_seed_same_result(mnist):
    cfg = TrainConfig(train_subset=640, batch_size=64, lr=2e-3, seed=5, eval_subset=500, log_every=2)
    a, b = build_seeded("two_layer_cnn", 1), build_seeded("two_layer_cnn", 1)
    ha, hb = fit(a, mnist, cfg), fit(b, mnist, cfg)
    assert [r["loss"] for r in ha.steps] == [r["loss"] for r in hb.steps]
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    c = build_seeded("two_layer_cnn", 1)
    hc = fit(c, mnist, TrainConfig(**{**cfg.__dict__, "seed": 6}))  # another batch order
    assert [r["loss"] for r in hc.steps] != [r["loss"] for r in ha.steps]


def test_stop_keeps_what_was_learned(mnist):
    model = build_seeded("slides_cnn", 0)
    initial = model.conv1.weight.detach().clone()
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 5  # five steps, then stop

    cfg = TrainConfig(
        model="slides_cnn", train_subset=6400, batch_size=64, epochs=2, eval_subset=500, log_every=1
    )
    history = fit(model, mnist, cfg, should_stop=should_stop)
    assert history.stopped
    assert history.images == 5 * 64 and len(history.steps) == 5
    assert len(history.epochs) == 1 and history.epochs[0]["epoch"] == pytest.approx(5 / 100)
    assert "test_acc" in history.epochs[0]
    assert not torch.equal(model.conv1.weight.detach(), initial)
    assert not model.training


def test_onecycle_warms_up_then_anneals(mnist):
    cfg = TrainConfig(model="mlp", train_subset=2560, batch_size=64, lr=0.01, eval_subset=200, log_every=1)
    history = fit(build_seeded("mlp", 0), mnist, cfg)
    lrs = [r["lr"] for r in history.steps]
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert 0 < peak < len(lrs) - 1 and lrs[peak] == pytest.approx(0.01, rel=0.05)
    assert lrs[0] < 0.01 / 5 and lrs[-1] < 0.01 / 100
    constant = fit(
        build_seeded("mlp", 0),
        mnist,
        TrainConfig(**{**cfg.__dict__, "schedule": "constant", "optimizer": "sgd_momentum"}),
    )
    assert {r["lr"] for r in constant.steps} == {0.01}


def test_eval_every_adds_test_points_during_the_epoch(mnist):
    cfg = TrainConfig(
        model="mlp", train_subset=1280, batch_size=64, eval_every=5, eval_subset=300, log_every=5
    )
    history = fit(build_seeded("mlp", 0), mnist, cfg)
    assert [r["step"] for r in history.evals] == [5.0, 10.0, 15.0, 20.0]
    assert sum("test_acc" in r for r in history.steps) == 4


def test_a_custom_objective_is_used_for_training_and_evaluation(mnist):
    """The VAE page's pattern: its own loss on x/255 and its own metric names."""

    def reconstruction(model, x, y):
        target = x.float().div(255).flatten(1)  # (B, 784)
        out = torch.sigmoid(model(x.float().div(255).unsqueeze(1)))  # (B, 784)
        bce = F.binary_cross_entropy(out, target)
        return bce, {"bce": bce, "mean_out": out.mean()}

    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 784)
    )
    cfg = TrainConfig(train_subset=1024, batch_size=64, lr=1e-2, eval_subset=500, log_every=4)
    history = fit(model, mnist, cfg, objective=reconstruction)
    assert set(history.epochs[0]) >= {"loss", "bce", "mean_out", "test_loss", "test_bce"}
    metrics = evaluate(model, mnist, objective=reconstruction, limit=500)
    assert metrics["bce"] == pytest.approx(history.epochs[0]["test_bce"], rel=1e-5)
    assert history.steps[-1]["bce"] < history.steps[0]["bce"]


def test_objective_and_evaluate_agree_with_a_reference_loop(mnist):
    model = build_seeded("lenet5", 3).eval()
    x, y = mnist.test_x[:700], mnist.test_y[:700]
    ref_in = (x.float() / 255 - 0.1307) / 0.3081  # torchvision's ToTensor + Normalize
    logits = model(ref_in.unsqueeze(1))
    loss, metrics = classification_objective(model, x, y)
    torch.testing.assert_close(loss, F.cross_entropy(logits, y))
    assert metrics["acc"].item() == pytest.approx((logits.argmax(1) == y).float().mean().item())
    got = evaluate(model, mnist, limit=700)
    assert got["acc"] == pytest.approx((logits.argmax(1) == y).float().mean().item(), abs=1e-6)
    assert got["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-4)
    torch.testing.assert_close(predict_proba(model, x), F.softmax(logits, 1).detach())
    assert normalize(x).shape == (700, 1, 28, 28)


def test_confusion_matrix_and_per_class_accuracy_match_sklearn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    g = torch.Generator().manual_seed(0)
    y_true, y_pred = torch.randint(0, 10, (500,), generator=g), torch.randint(0, 10, (500,), generator=g)
    m = confusion_matrix(y_true, y_pred)
    assert m.tolist() == sk_confusion(y_true.numpy(), y_pred.numpy(), labels=list(range(10))).tolist()
    acc = per_class_accuracy(m)
    for c in range(10):
        assert acc[c].item() == pytest.approx(
            ((y_pred == c) & (y_true == c)).sum().item() / (y_true == c).sum().item()
        )


def test_misclassified_lists_the_most_confident_mistakes_first():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]])
    y = torch.tensor([0, 0, 0, 1])
    wrong = misclassified(probs, y, k=5)
    assert [w["index"] for w in wrong] == [1, 2]
    assert wrong[0] == {"index": 1, "true": 0, "predicted": 1, "confidence": pytest.approx(0.8)}


@pytest.mark.parametrize(
    "change, match",
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": math.nan}, "learning rate"),
        ({"schedule": "cosine"}, "schedule"),
        ({"batch_size": 1}, "batch size"),
        ({"epochs": LIMITS.max_epochs + 1}, "Epochs"),
        ({"train_subset": 10}, "subset"),
    ],
)
def test_mistakes_in_the_config_become_sentences(mnist, change, match):
    with pytest.raises(UserError, match=match) as err:
        fit(build_model("mlp"), mnist, TrainConfig(**change))
    assert err.value.zh != err.value.en
