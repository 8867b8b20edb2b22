"""TensorBoard logs: real event files, read back with TensorBoard's own reader, hold the History's numbers."""

import zipfile
from dataclasses import asdict
from io import BytesIO

import numpy as np
import pytest
import torch

from core import models, runlog, train


@pytest.fixture(scope="module")
def short_run(mnist):
    config = train.TrainConfig(
        train_subset=512, batch_size=64, epochs=1, log_every=2, eval_every=4, eval_subset=500
    )
    model = models.build_seeded("two_layer_cnn", 0)
    history = train.fit(model, mnist, config)
    return model, history, config


def test_scalars_read_back_equal_the_history(tmp_path, short_run):
    model, history, config = short_run
    folder = runlog.write_run(
        tmp_path,
        "#1 two_layer_cnn · adam",
        history.steps,
        hparams=asdict(config),
        final={"test_acc": history.epochs[-1]["test_acc"]},
        model=model,
        example_input=torch.zeros(1, 1, 28, 28),
        confusion=np.eye(10) * 50,
    )
    scalars = runlog.read_scalars(folder)
    loss = dict(scalars["train/loss"])
    acc = dict(scalars["train/acc"])
    lr = dict(scalars["lr"])
    for record in history.steps:
        step = int(record["step"])
        assert loss[step] == pytest.approx(record["loss"], rel=1e-6)
        assert acc[step] == pytest.approx(record["acc"], rel=1e-6)
        assert lr[step] == pytest.approx(record["lr"], rel=1e-6)
    test_points = [r for r in history.steps if "test_acc" in r]
    assert test_points, "the run evaluated during training"
    test_acc = dict(scalars["test/acc"])
    for record in test_points:
        assert test_acc[int(record["step"])] == pytest.approx(record["test_acc"], rel=1e-6)


def test_graph_hparams_and_confusion_image_are_written(tmp_path, short_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model, history, config = short_run
    folder = runlog.write_run(
        tmp_path,
        "run",
        history.steps,
        hparams=asdict(config),
        final={"test_acc": 0.9},
        model=model,
        example_input=torch.zeros(1, 1, 28, 28),
        confusion=np.eye(10),
    )
    acc = EventAccumulator(str(folder))
    acc.Reload()
    tags = acc.Tags()
    assert "confusion_matrix" in tags["images"]
    assert tags["graph"] is True
    assert acc.PluginTagToContent("hparams"), "hparams summary present"
    assert {"train/loss", "lr", "hparam/test_acc"} <= set(tags["scalars"])


def test_several_runs_share_one_folder_in_the_zip(tmp_path, short_run):
    _, history, _ = short_run
    runlog.write_run(tmp_path, "#1 sgd", history.steps)
    runlog.write_run(tmp_path, "#2 adam", history.steps)
    names = zipfile.ZipFile(BytesIO(runlog.zip_folder(tmp_path))).namelist()
    assert any(n.startswith("runs/1_sgd/events.out.tfevents") for n in names)
    assert any(n.startswith("runs/2_adam/events.out.tfevents") for n in names)


def test_confusion_image_shape_and_tag_names():
    img = runlog.confusion_image(np.arange(100).reshape(10, 10))
    assert img.dtype == np.uint8 and img.shape[2] == 3 and img.shape[0] == img.shape[1]
    assert runlog.scalar_tag("test_acc") == "test/acc" and runlog.scalar_tag("loss") == "train/loss"
    assert runlog.safe_name("#3 bn_cnn · adam · lr 0.003") == "3_bn_cnn_adam_lr_0.003"
