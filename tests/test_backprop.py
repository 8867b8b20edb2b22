"""core.backprop against its references: the seed's script, autograd, finite differences, torch.optim.SGD."""

import io
import json
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from core import backprop as bp
from core.errors import UserError
from tests.hostile_corpus import checkpoint_cases, image_cases

X, Y = (t.double() for t in bp.make_data())


def seed_params(hidden: int = 10) -> bp.Params:
    return bp.params_of(bp.seed_net(hidden))


def random_params(hidden: int, seed: int) -> bp.Params:
    gen = torch.Generator().manual_seed(seed)
    shapes = {"W1": (1, hidden), "b1": (hidden,), "W2": (hidden, 1), "b2": (1,)}
    return {k: torch.randn(s, generator=gen, dtype=torch.float64) * 2 for k, s in shapes.items()}


def test_data_and_net_are_the_seeds_exactly():
    state = torch.random.get_rng_state()
    x, y = bp.make_data()
    net = bp.seed_net(10)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator was left alone
    torch.manual_seed(1)  # the seed's script, line by line
    x0 = torch.unsqueeze(torch.linspace(-1, 1, 100), dim=1)
    y0 = x0.pow(2) + 0.2 * torch.rand(x0.size())
    net0 = bp.Net(n_feature=1, n_hidden=10, n_output=1)
    assert torch.equal(x, x0) and torch.equal(y, y0) and x.shape == (100, 1)
    assert all(
        torch.equal(a, b) for a, b in zip(net.state_dict().values(), net0.state_dict().values(), strict=True)
    )
    assert str(net).splitlines()[1].strip() == "(hidden): Linear(in_features=1, out_features=10, bias=True)"


def test_homework_notation_round_trips_and_matches_the_module():
    net = bp.seed_net(10).double()
    p = bp.params_of(net)
    assert p["W1"].shape == (1, 10) and p["b1"].shape == (10,) and p["W2"].shape == (10, 1)
    _, pred = bp.forward(p, X)
    assert torch.allclose(pred, net(X), atol=0, rtol=1e-15)
    assert bp.max_difference(bp.params_of(bp.net_of(p)), p) == 0.0


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("hidden,seed", [(10, None), (1, 3), (10, 4), (64, 5)])
def test_hand_gradients_equal_autograd(hidden, seed, reduction):
    p = seed_params(hidden) if seed is None else random_params(hidden, seed)
    hand, auto = bp.gradients(p, X, Y, reduction), bp.autograd_gradients(p, X, Y, reduction)
    assert bp.max_difference(hand, auto) <= 1e-10
    assert {k: v.shape for k, v in hand.items()} == {k: v.shape for k, v in p.items()}


def test_hand_gradients_equal_the_modules_backward():
    """The reference a student would write: the seed's Net, f as a sum of squares, loss.backward()."""
    net = bp.seed_net(10).double()
    f = ((Y - net(X)) ** 2).sum()
    f.backward()
    hand = bp.gradients(bp.params_of(net), X, Y)
    assert (hand["W1"] - net.hidden.weight.grad.T).abs().max() <= 1e-10
    assert (hand["b1"] - net.hidden.bias.grad).abs().max() <= 1e-10
    assert (hand["W2"] - net.predict.weight.grad.T).abs().max() <= 1e-10
    assert (hand["b2"] - net.predict.bias.grad).abs().max() <= 1e-10
    assert f.item() == pytest.approx(float(bp.loss(bp.params_of(net), X, Y)), rel=1e-14)


def test_every_element_matches_its_central_finite_difference():
    p = random_params(10, 7)
    hand = bp.gradients(p, X, Y)
    for name in bp.NAMES:
        for i in range(p[name].numel()):
            numeric = bp.finite_difference(p, X, Y, name, i, eps=1e-6)
            assert numeric == pytest.approx(float(hand[name].reshape(-1)[i]), rel=1e-6, abs=1e-6), (name, i)
    check = bp.check_element(p, X, Y, "W2", 3)
    assert check.hand == float(hand["W2"].reshape(-1)[3]) and abs(check.hand - check.numeric) < 1e-6


def test_a_bad_element_index_is_a_sentence():
    with pytest.raises(UserError, match="pick an index from 0 to 9"):
        bp.finite_difference(seed_params(), X, Y, "b1", 10)


def test_a_mean_divides_every_gradient_by_n():
    p = seed_params()
    g_sum, g_mean = bp.gradients(p, X, Y, "sum"), bp.gradients(p, X, Y, "mean")
    assert all(torch.allclose(g_sum[k] / 100, g_mean[k], rtol=1e-12, atol=0) for k in bp.NAMES)
    check = bp.check_gradients(p, X, Y, "mean")
    assert check.sum_over_mean == pytest.approx(100, rel=1e-12)
    assert check.max_diff <= 1e-10 and len(check.table) == 31
    assert check.loss == pytest.approx(torch.nn.functional.mse_loss(bp.net_of(p)(X), Y).item(), rel=1e-12)
    assert r"\tfrac{1}{N}" in bp.derivation("mean") and r"\tfrac" not in bp.derivation("sum")


def test_gd_trajectory_equals_torch_optim_sgd_step_by_step():
    """Plain GD with the hand-written gradients vs torch.optim.SGD + autograd, 300 steps, float64."""
    lr, p = 0.002, seed_params()
    net = bp.seed_net(10).double()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(300):
        p = bp.gd_step(p, X, Y, lr)
        opt.zero_grad()
        ((Y - net(X)) ** 2).sum().backward()
        opt.step()
        assert bp.max_difference(p, bp.params_of(net)) <= 1e-10
    run = bp.train(bp.TrainConfig(lr=lr, steps=300), seed_params(), X, Y)
    assert run.max_diff <= 1e-10 and run.diverged_at is None and len(run.records) == 300
    assert bp.max_difference(run.hand, bp.params_of(net)) <= 1e-10
    assert run.records[0]["loss_hand"] == pytest.approx(54.654062100498116, rel=1e-12)  # the seed's f at init
    assert run.records[-1]["loss_hand"] < run.records[0]["loss_hand"] / 5


def test_the_default_rate_fits_the_parabola():
    p = seed_params()
    for _ in range(2000):
        p = bp.gd_step(p, X, Y, bp.TrainConfig().lr)
    assert float(bp.loss(p, X, Y)) < 0.5  # the noise alone leaves 100·Var(0.2·U) ≈ 0.33


def test_a_diverging_rate_stops_before_any_nan():
    reports = []
    run = bp.train(bp.TrainConfig(lr=0.02, steps=200, report_every=1), seed_params(), X, Y, reports.append)
    assert run.diverged_at is not None and run.diverged_at < 50
    assert all(torch.isfinite(v).all() for v in run.hand.values())
    assert all(torch.isfinite(torch.tensor(r["pred"])).all() for r in reports)
    assert len(run.records) == run.diverged_at


def test_stable_rate_bound_and_the_b2_curvature():
    lr_max = bp.max_stable_lr(seed_params(), X, Y)
    assert 0 < lr_max <= 2 / (2 * 100)  # λ_max ≥ ∂²f/∂b2² = 2N
    assert bp.TrainConfig().lr < lr_max  # the default rate is inside the stable range


def test_stop_is_honoured():
    calls = []
    run = bp.train(
        bp.TrainConfig(steps=1000), seed_params(), X, Y, should_stop=lambda: len(calls) > 5 or calls.append(1)
    )
    assert len(run.records) < 10


def test_full_batch_minibatch_equals_gradient_descent_on_the_mean():
    p = seed_params()
    run = bp.minibatch_sgd(p, X, Y, batch_size=100, lr=0.2, epochs=5)
    for _ in range(5):
        p = bp.gd_step(p, X, Y, 0.2, "mean")
    assert bp.max_difference(run.params, p) <= 1e-12 and len(run.records) == 5


def test_small_batches_make_more_steps_and_a_big_rate_is_caught():
    run = bp.minibatch_sgd(seed_params(), X, Y, batch_size=5, lr=0.2, epochs=50)  # the page's defaults
    assert len(run.records) == 50 * 20 and run.seconds_per_epoch > 0 and not run.diverged
    assert (
        run.records[-1]["full_loss"]
        < bp.minibatch_sgd(seed_params(), X, Y, 100, 0.2, 50).records[-1]["full_loss"] / 5
    )
    bad = bp.minibatch_sgd(seed_params(), X, Y, batch_size=1, lr=1.0, epochs=20)
    assert bad.diverged
    assert all(torch.isfinite(torch.tensor([r["batch_loss"], r["full_loss"]])).all() for r in bad.records)


@pytest.mark.slow
def test_big_data_measurement_runs_bounded_in_a_child_process():
    config = bp.BigConfig(n=1_000_000, batch_sizes=(100, 1_000_000), budget_s=0.3, timeout_s=60)
    reports = []
    rows = bp.measure_big_data(config, reports.append, lambda: False)
    assert [r["stage"] for r in rows] == ["data", "batch", "batch"]
    assert rows[0]["data_bytes"] == 2 * 1_000_000 * 4  # x and y in float32
    small, full = rows[1], rows[2]
    assert small["batches_per_epoch"] == 10_000 and full["batches_per_epoch"] == 1 and full["batches"] == 1
    activations = 1_000_000 * 10 * 4  # one (N, hidden) float32 tensor: 40 MB
    # the shuffled order (8 MB of int64) and batches of 100: far below one activation tensor; the full
    # batch holds several (N, hidden) tensors at once
    assert small["peak_bytes"] < activations / 2 and 3 * activations < full["peak_bytes"] < 8 * activations
    assert small["loss"] < full["loss"]  # many small steps beat one big one in the same time
    assert reports[-1]["progress"] == 1.0


def test_big_data_measurement_stops_and_refuses_what_memory_cannot_hold():
    rows = bp.measure_big_data(bp.BigConfig(n=200_000), lambda r: None, lambda: True)
    assert rows == []
    with pytest.raises(UserError, match="GB of memory"):
        bp.measure_big_data(bp.BigConfig(n=10**12), lambda r: None, lambda: False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_safetensors_round_trip_gives_equal_predictions(dtype):
    net = bp.seed_net(10).to(dtype)
    check = bp.check_reload(bp.save_net(net), net, X)
    assert check.equal and check.n_hidden == 10
    other = bp.check_reload(bp.save_net(bp.seed_net(20)), net, X)
    assert not other.equal and other.n_hidden == 20


def test_hostile_uploads_get_a_sentence_and_never_run(tmp_path):
    cases = checkpoint_cases(tmp_path, good_state=bp.seed_net(10).state_dict())
    marker = cases.pop("marker")
    for name, path in cases.items():
        with pytest.raises(UserError) as err:
            bp.load_net(path.read_bytes())
        assert "cannot be loaded as this page's net" in str(err.value) and err.value.zh != err.value.en, name
    assert not marker.exists()
    for case in image_cases()[:8]:
        with pytest.raises(UserError):
            bp.load_net(case.data)


def test_wrong_shapes_wrong_dtype_and_missing_sizes_are_refused():
    state = {k: v.contiguous() for k, v in bp.seed_net(10).state_dict().items()}
    with pytest.raises(UserError, match=r"names and shapes of Net\(1, 20, 1\)"):
        bp.load_net(st_save(state, metadata={"n_feature": "1", "n_hidden": "20", "n_output": "1"}))
    with pytest.raises(UserError, match="does not give the net's sizes"):
        bp.load_net(st_save(state))
    ints = {k: v.to(torch.int32) for k, v in state.items()}
    with pytest.raises(UserError, match="int32"):
        bp.load_net(st_save(ints, metadata={"n_feature": "1", "n_hidden": "10", "n_output": "1"}))
    blob = bp.save_net(bp.seed_net(10))
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    assert header["__metadata__"] == {"n_feature": "1", "n_hidden": "10", "n_output": "1"}
    with pytest.raises(UserError, match="empty"):
        bp.load_net(b"")


def test_unpickling_runs_code_and_weights_only_refuses():
    demo = bp.pickle_demo(bp.seed_net(10))
    assert demo.ran_with_pickle and demo.token in bp.UNPICKLED and demo.token in demo.returned
    assert (
        "GLOBAL" in demo.opcodes
        and "core.backprop note_unpickling" in demo.opcodes
        and "REDUCE" in demo.opcodes
    )
    assert "Weights only load failed" in demo.weights_only_error
    assert demo.whole_net_bytes > demo.state_dict_bytes
    # the same kind of file uploaded to the page is refused without being unpickled
    buf = io.BytesIO()
    torch.save({"net": bp.seed_net(10), "note": bp.Surprise("upload-token")}, buf)
    with pytest.raises(UserError, match="pickle"):
        bp.load_net(buf.getvalue())
    assert "upload-token" not in bp.UNPICKLED
