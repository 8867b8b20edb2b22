"""core.train on real MNIST: it learns, it is deterministic, it stops, and its pieces match references."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from core.data import Dataset, normalize
from core.errors import UserError
from core.jobs import BackgroundJob
from core.limits import LIMITS
from core.models import build_model, build_seeded
from core.train import (
    MAX_RUNS,
    MixedPrecision,
    TrainConfig,
    acc_floor,
    cadence,
    cell_examples,
    classification_objective,
    config_from_dict,
    confusion_matrix,
    curve_points,
    diagnose,
    evaluate,
    fit,
    gallery,
    graphed_step,
    keep_run,
    load_run,
    misclassified,
    option_defaults,
    options_for,
    per_class_accuracy,
    predict_proba,
    run_checkpoint,
    run_row,
    score_run,
    subset_choices,
    train_run,
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
    # compared on the CPU: fit leaves the model on its device (CUDA when present)
    assert not torch.equal(model.conv1.weight.detach().cpu(), initial.cpu())
    assert not model.training


def test_a_stop_before_the_first_report_still_reports_the_steps_taken(mnist):
    calls = []
    cfg = TrainConfig(model="mlp", train_subset=6400, batch_size=64, log_every=10, eval_subset=300)
    history = fit(build_seeded("mlp", 0), mnist, cfg, should_stop=lambda: calls.append(1) or len(calls) > 3)
    assert history.stopped and [r["step"] for r in history.steps] == [3.0]  # three steps, one record
    assert history.steps[0]["images"] == 3 * 64 == history.images


def test_final_eval_off_skips_only_the_last_evaluation(mnist):
    cfg = TrainConfig(
        model="mlp", train_subset=640, batch_size=64, epochs=2, eval_subset=300, final_eval=False
    )
    history = fit(build_seeded("mlp", 0), mnist, cfg)
    assert "test_acc" in history.epochs[0] and "test_acc" not in history.epochs[1]
    assert len(history.evals) == 1


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


def reconstruction_objective(seen: list | None = None):
    """The VAE page's pattern: its own loss (BCE, which CUDA autocast refuses) on x/255, its own metrics."""

    def objective(model, x, y):
        target = x.float().div(255).flatten(1)  # (B, 784)
        out = torch.sigmoid(model(x.float().div(255).unsqueeze(1)))  # (B, 784)
        if seen is not None:
            seen.append((out.dtype, torch.is_autocast_enabled(x.device.type)))
        bce = F.binary_cross_entropy(out, target)
        return bce, {"bce": bce, "mean_out": out.mean()}

    return objective


def autoencoder() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 784)
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_custom_objective_is_used_for_training_and_evaluation(mnist, precision):
    """bf16 autocast on the CPU takes the same path as CUDA's: only the model's forward is autocast."""
    seen, layer_dtypes = [], set()
    model = autoencoder()
    model[1].register_forward_hook(lambda m, i, o: layer_dtypes.add(o.dtype))
    cfg = TrainConfig(
        train_subset=1024, batch_size=64, lr=1e-2, eval_subset=500, log_every=4, precision=precision
    )
    history = fit(model, mnist, cfg, objective=reconstruction_objective(seen))
    assert set(history.epochs[0]) >= {"loss", "bce", "mean_out", "test_loss", "test_bce"}
    # the loss always sees fp32 outputs with autocast off; the network itself ran in bf16 when asked
    assert set(seen) == {(torch.float32, False)}
    assert layer_dtypes == ({torch.bfloat16} if precision == "bf16" else {torch.float32})
    metrics = evaluate(model, mnist, objective=reconstruction_objective(), limit=500, precision=precision)
    assert metrics["bce"] == pytest.approx(history.epochs[0]["test_bce"], rel=1e-5)
    assert history.steps[-1]["bce"] < history.steps[0]["bce"]


def test_mixed_precision_reaches_the_models_attributes_and_returns_fp32():
    model = autoencoder()
    model.hidden_size = 32  # e.g. a VAE's encode/decode: reached through the wrapper
    net = MixedPrecision(model, "cpu", torch.bfloat16)
    x = torch.rand(2, 1, 28, 28)
    out = net(x)
    assert out.dtype == torch.float32 and net.hidden_size == 32
    torch.testing.assert_close(out, model(x), atol=0.05, rtol=0.05)  # the fp32 forward, up to bf16 rounding
    assert next(net.parameters()) is next(model.parameters())


@pytest.mark.gpu
def test_binary_cross_entropy_objective_trains_under_cuda_autocast(mnist):
    """#14: F.binary_cross_entropy raised "unsafe to autocast" under fit's CUDA autocast."""
    cfg = TrainConfig(train_subset=1024, batch_size=64, lr=1e-2, eval_subset=500, device="cuda")
    history = fit(autoencoder(), mnist, cfg, objective=reconstruction_objective())
    assert history.steps[-1]["bce"] < history.steps[0]["bce"]


def test_the_cuda_graph_is_used_only_where_it_applies(mnist):
    """CUDA graphs need CUDA, a graph-safe objective and no fp16 loss scaling; elsewhere fit runs eagerly."""
    model = build_seeded("two_layer_cnn", 0)
    x, y = mnist.train_x[:64], mnist.train_y[:64]
    assert graphed_step(model, model, classification_objective, TrainConfig(), x, y) is None  # the CPU
    history = fit(model, mnist, TrainConfig(train_subset=256, batch_size=64, eval_subset=100))
    assert not history.cuda_graph and history.images == 256
    assert getattr(classification_objective, "graphable", False)
    assert not getattr(reconstruction_objective(), "graphable", False)  # a custom objective: eager


@pytest.mark.gpu
@pytest.mark.parametrize("batch_norm", [False, True])
def test_the_cuda_graph_step_trains_like_the_eager_step(mnist, batch_norm):
    """#14: full batches replay one CUDA graph; the last, short batch runs eagerly on the same .grad."""
    cfg = TrainConfig(train_subset=3000, batch_size=128, eval_subset=2000, device="cuda", precision="fp32")
    runs = {}
    for graph in (True, False):  # no dropout: both runs see the same arithmetic, step for step
        model = build_seeded("two_layer_cnn", 0, dropout=0.0, batch_norm=batch_norm)
        history = fit(model, mnist, replace(cfg, cuda_graph=graph))
        runs[graph] = (model, history)
    (m_graph, h_graph), (m_eager, h_eager) = runs[True], runs[False]
    assert h_graph.cuda_graph and not h_eager.cuda_graph
    assert len(h_graph.steps) == len(h_eager.steps) and h_graph.images == h_eager.images == 3000
    assert h_graph.steps[0]["loss"] == pytest.approx(h_eager.steps[0]["loss"], rel=1e-3)
    assert h_graph.epochs[-1]["test_acc"] == pytest.approx(h_eager.epochs[-1]["test_acc"], abs=0.01)
    for a, b in zip(m_graph.state_dict().values(), m_eager.state_dict().values(), strict=True):
        torch.testing.assert_close(a.float(), b.float(), atol=2e-2, rtol=2e-2)  # BatchNorm statistics too


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


def test_cadence_reports_about_a_hundred_times_and_tests_a_few_times_per_epoch():
    c = cadence(TrainConfig(train_subset=60_000, batch_size=128, epochs=2, device="cpu"))
    assert (c.log_every, c.eval_every, c.eval_subset) == (9, 93, 2000)  # 938 steps: ~100 reports, 10 tests
    small = cadence(TrainConfig(train_subset=2000, batch_size=64, epochs=1, device="cpu"))
    assert (small.log_every, small.eval_every, small.eval_subset) == (1, 16, 500)


def test_a_page_run_through_a_background_job_stops_fast_and_scores_the_full_test_set(mnist):
    """What the Train and Stop buttons do: train_run in a BackgroundJob, stopped after a few reports."""
    cfg = TrainConfig(model="mlp", train_subset=60_000, batch_size=32, log_every=2, eval_subset=500)

    def work(report, should_stop):
        return train_run(7, mnist, cfg, {"dropout": 0.0}, True, report, should_stop)

    job = BackgroundJob(work, "cpu").start()
    while len(job.snapshot()["records"]) < 3 and not job.finished:
        time.sleep(0.05)
    job.stop()
    run = job.join(120).result
    assert job.status == "stopped" and run is not None and run.stopped and run.id == 7 and run.init_seed == 0
    assert run.history.images < 60_000 and run.label == "#7 mlp · adam · lr 0.003"
    # the last curve point and the table show one figure: the full test set, equal to evaluate()'s
    assert run.test_acc == pytest.approx(evaluate(run.model, mnist)["acc"], abs=1e-6)
    assert run.history.steps[-1]["test_acc"] == run.test_acc == run.history.epochs[-1]["test_acc"]
    assert run.history.steps[-1]["test_loss"] == pytest.approx(evaluate(run.model, mnist)["loss"], rel=1e-4)
    assert len(run.history.evals) == 0  # the stopped run skipped fit's own final evaluation
    assert run.probs.shape == (10_000, 10) and not run.model.training
    assert next(run.model.parameters()).device.type == "cpu"


def test_score_run_of_loaded_weights_has_no_history(mnist):
    model = build_seeded("mlp", 0)
    run = score_run(1, model, mnist, config_from_dict({"model": "mlp", "unknown": 1}), {})
    assert run.history is None and not run.stopped and run.config.model == "mlp"
    assert run.test_acc == pytest.approx(float((run.probs.argmax(1) == mnist.test_y).float().mean()))


def test_curve_points_are_long_format_train_and_test():
    steps = [
        {"epoch": 0.5, "loss": 1.0, "acc": 0.5},
        {"epoch": 1.0, "loss": 0.5, "acc": 0.8, "test_acc": 0.9},
    ]
    points = curve_points([("#1", steps)])
    assert len(points) == 5
    assert {"run": "#1", "epoch": 1.0, "metric": "acc", "split": "test", "value": 0.9} in points


def test_cell_examples_are_exactly_the_cells_images_most_confident_first():
    probs = torch.tensor([[0.1, 0.9], [0.3, 0.7], [0.8, 0.2], [0.05, 0.95], [0.4, 0.6]])
    y = torch.tensor([0, 0, 0, 1, 0])
    assert cell_examples(probs, y, true=0, predicted=1) == [0, 1, 4]  # image 3 is a 1, image 2 read as 0
    assert cell_examples(probs, y, true=0, predicted=1, k=2) == [0, 1]
    assert cell_examples(probs, y, true=1, predicted=0) == []
    assert cell_examples(probs, y, true=0, predicted=0) == [2]


# --- what the trainer page offers and keeps -------------------------------------------------------


def test_subset_choices_stop_at_the_servers_limit():
    assert subset_choices(60_000) == [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000]
    assert subset_choices(10_000) == [1_000, 2_000, 5_000, 10_000]
    assert subset_choices()[-1] <= LIMITS.max_train_subset


def test_option_defaults_and_options_for_follow_each_models_signature():
    assert option_defaults("two_layer_cnn") == {"dropout": 0.3, "batch_norm": False}  # homework 000's p
    assert option_defaults("bn_cnn") == {"dropout": 0.0, "batch_norm": True}
    assert option_defaults("lenet5") == {"dropout": 0.0, "batch_norm": False}  # neither option: off
    assert options_for("mlp", 0.25, True) == {"dropout": 0.25}  # the MLP has no batch norm
    assert options_for("two_layer_cnn", 0.5, 1) == {"dropout": 0.5, "batch_norm": True}
    build_model("mlp", **options_for("mlp", 0.25, True))  # what the page passes, the model accepts


def scored(mnist, run_id: int, model: str = "mlp"):
    return score_run(run_id, build_seeded(model, run_id), mnist, TrainConfig(model=model, lr=0.01), {})


def test_keep_run_drops_the_oldest_beyond_the_limit(mnist):
    runs = []
    base = scored(mnist, 1)
    for i in range(1, MAX_RUNS + 3):
        runs = keep_run(runs, type(base)(i, base.model, base.config, {}, base.probs, base.test_acc))
    assert [r.id for r in runs] == list(range(3, MAX_RUNS + 3))
    from core.train import find_run

    assert find_run(runs, 4) is runs[1]  # the chosen run, by number
    assert find_run(runs, 1) is runs[-1] and find_run(runs, None) is runs[-1]  # it left: the newest
    assert find_run([], 4) is None


def test_a_stopped_run_reads_drawn_digits_only_when_the_reader_has_left(mnist):
    from core.train import History, digit_reader

    base = scored(mnist, 1)
    done, stopped = (replace(base, id=i, history=History({}, stopped=i == 3)) for i in (2, 3))
    runs = keep_run([base], done)
    assert digit_reader(runs, done, 1) == 2  # a finished run takes over
    assert digit_reader(runs, done, None) == 2
    runs = keep_run(runs, stopped)
    assert digit_reader(runs, stopped, 2) == 2  # a stopped one does not: the reader stays
    assert digit_reader(runs, stopped, None) == 3  # ... unless there is none
    assert digit_reader(keep_run([], stopped), stopped, 2) == 3  # ... or it has left the table


def test_run_row_of_a_loaded_run_and_the_meta_the_feature_maps_read(mnist):
    run = scored(mnist, 3)
    row = run_row(run)
    assert row == {"run": "#3", "model": "mlp", "optimizer": "adam", "lr": 0.01, "batch": 128, "epochs": 1,
                   "images": "—", "test_acc": f"{run.test_acc:.2%}", "time": "—"}  # fmt: skip
    assert run.meta == {"name": "mlp", "options": {}, "test_acc": run.test_acc}
    assert run.summary == {"model": "mlp", "acc": run.test_acc}  # what "Loaded {model}: …" says


def test_acc_floor_is_two_points_under_the_lowest_value_never_negative():
    assert acc_floor([0.95, 0.99]) == pytest.approx(0.93)
    assert acc_floor([0.01, 0.5]) == 0.0


def test_a_checkpoint_round_trip_gives_the_same_run(mnist):
    run = scored(mnist, 2, "two_layer_cnn")
    back = load_run(5, run_checkpoint(run), mnist)
    assert back.id == 5 and back.config == run.config and back.history is None
    assert back.test_acc == run.test_acc  # the same weights score the same on all 10,000 test images
    torch.testing.assert_close(back.probs, run.probs)


def test_diagnose_matches_sklearn_and_zooms_the_axis_for_a_good_model():
    from sklearn.metrics import confusion_matrix as sk_confusion
    from sklearn.metrics import recall_score

    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 10, (2000,), generator=g)
    good = F.one_hot(y, 10).float() * 5 + torch.rand(2000, 10, generator=g) * 4  # mostly right
    probs = F.softmax(good, 1)
    d = diagnose(probs, y)
    pred = probs.argmax(1).numpy()
    assert d.matrix.tolist() == sk_confusion(y.numpy(), pred, labels=list(range(10))).tolist()
    recall = recall_score(y.numpy(), pred, labels=list(range(10)), average=None)
    torch.testing.assert_close(d.per_class, torch.tensor(recall, dtype=torch.float32))
    worst = float(recall.min())
    assert worst >= 0.9 and d.floor == pytest.approx(math.floor(worst * 100 - 1) / 100)
    assert d.floor < worst  # every bar shows
    chance = diagnose(F.softmax(torch.rand(2000, 10, generator=g), 1), y)
    assert chance.floor == 0.0


def test_gallery_captions_name_the_cells_images_or_the_worst_mistakes():
    probs = torch.tensor([[0.1, 0.9], [0.3, 0.7], [0.8, 0.2], [0.05, 0.95], [0.4, 0.6]])
    y = torch.tensor([0, 0, 0, 1, 0])
    x = torch.arange(5, dtype=torch.uint8)[:, None, None].expand(5, 28, 28)  # image i is filled with i
    test_set = Dataset("toy", x, y, x, y, "test", ("0", "1"))
    cell = gallery(probs, test_set, (0, 1), k=2)
    assert [e["index"] for e in cell] == [0, 1]
    image = cell[0].pop("image")
    assert cell[0] == {
        "index": 0,
        "true": 0,
        "pred": 1,
        "conf": pytest.approx(0.9),
        "p_true": pytest.approx(0.1),
    }
    assert image.shape == (28, 28) and (image == 0).all() and (cell[1]["image"] == 1).all()
    worst = [w["index"] for w in misclassified(probs, y, k=16)]
    assert [e["index"] for e in gallery(probs, test_set)] == worst


def test_config_from_settings_maps_the_page_names_and_casts_each_field():
    from core.train import PAGE_SETTINGS, TrainConfig, config_from_settings

    page = {"arch": "mlp", "optimizer": "sgd", "lr": 1e-2, "wd": 0, "batch": 64.0, "epochs": 2.0}
    config = config_from_settings({**page, "subset": 2000, "schedule": "constant"}, seed=3, device="cpu")
    want = {"weight_decay": 0.0, "batch_size": 64, "epochs": 2, "train_subset": 2000, "schedule": "constant"}
    assert config == TrainConfig("mlp", "sgd", 0.01, seed=3, device="cpu", **want)
    assert type(config.batch_size) is int and type(config.weight_decay) is float
    assert set(PAGE_SETTINGS.values()) <= set(TrainConfig.__dataclass_fields__)


def test_page_run_is_the_checked_config_at_the_live_cadence_with_the_models_options():
    from core.train import config_from_settings, page_run

    page = {"arch": "mlp", "optimizer": "adam", "lr": 1e-3, "wd": 0.0, "batch": 64, "epochs": 1}
    settings = {**page, "subset": 2000, "schedule": "onecycle", "dropout": 0.25, "bn": True}
    config, options = page_run(settings, seed=0, device="cpu")
    assert config == cadence(config_from_settings(settings, seed=0, device="cpu"))
    assert (config.log_every, config.eval_every, config.eval_subset) == (1, 16, 500)  # as the cadence test
    assert options == {"dropout": 0.25}  # the MLP has no batch norm
    with pytest.raises(UserError, match="Epochs must be between 1"):
        page_run({**settings, "epochs": 0}, seed=0, device="cpu")


def test_layer_table_is_the_model_summary_with_readable_shapes_and_the_parameter_count():
    from core.models import build_model, count_parameters, summarize
    from core.train import layer_table

    rows, n = layer_table("two_layer_cnn", {"dropout": 0.3})
    net = build_model("two_layer_cnn", dropout=0.3)
    assert n == count_parameters(net) == sum(p.numel() for p in net.parameters())
    raw = summarize(net, (1, 28, 28))
    assert [r["layer"] for r in rows] == [r["layer"] for r in raw]
    assert [r["output_shape"] for r in rows] == ["×".join(map(str, r["output_shape"])) for r in raw]
    assert [r["output_shape"] for r in rows][:6:2] == [
        "32×26×26",
        "32×13×13",
        "64×11×11",
    ]  # the homework's walk


def test_model_class_is_the_built_models_class_and_draws_nothing_from_the_global_rng():
    from core.models import MODEL_NAMES, build_model
    from core.train import model_class

    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    classes = [model_class(name) for name in MODEL_NAMES]
    assert torch.equal(before, torch.random.get_rng_state())  # a running job's dropout stream is untouched
    assert classes == [type(build_model(name)) for name in MODEL_NAMES]
