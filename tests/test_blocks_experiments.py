"""The live experiments on real MNIST, seeded: the difference the pages show is clear every time."""

import math

import pytest

from core.blocks import experiments


@pytest.mark.slow
def test_plain_deep_net_is_stuck_where_the_residual_one_learns(mnist):
    records = []
    r = experiments.residual_experiment(mnist, experiments.ResidualConfig(), records.append, lambda: False)
    plain, res = r.grad_norms["plain"], r.grad_norms["residual"]
    assert len(plain) == len(res) == 30
    assert plain[0] < 1e-6 * res[0]  # vanished by layer 1: ~1e-12 against ~1
    assert plain[0] < plain[-1] * 1e-6  # and it shrinks toward the input
    assert min(res) > 0.1
    last = r.curves[-1]
    assert abs(last["plain"] - math.log(10)) < 0.05  # chance level, after 300 steps
    assert last["residual"] < 0.8
    assert records[-1]["progress"] == 1.0 and records[-1]["step"] == 300 == last["step"]


@pytest.mark.slow
def test_normalized_cnns_learn_faster_than_the_plain_one(mnist):
    r = experiments.norm_experiment(mnist, experiments.NormConfig(), lambda rec: None, lambda: False)
    last = r.curves[-1]
    assert last["bn"] < last["none"] - 0.15 and last["ln"] < last["none"] - 0.15
    assert r.test_accuracy["bn"] > r.test_accuracy["none"] and r.test_accuracy["ln"] > r.test_accuracy["none"]


def test_stop_keeps_what_was_trained(mnist):
    records = []
    config = experiments.ResidualConfig(depth=4, steps=100, train_subset=512)
    r = experiments.residual_experiment(mnist, config, records.append, lambda: len(records) >= 2)
    assert [c["step"] for c in r.curves] == [10, 20]  # stopped after the second report
    assert len(r.grad_norms["plain"]) == 4


def test_depth_zero_is_a_sentence(mnist):
    from core.errors import UserError

    with pytest.raises(UserError):
        experiments.residual_experiment(mnist, experiments.ResidualConfig(depth=0), print, lambda: False)
