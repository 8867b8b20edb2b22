"""Checkpoints: safetensors round trip; truncated, pickled, foreign, mismatched files get a sentence."""

from __future__ import annotations

import io
import pickle

import pytest
import torch
from safetensors.torch import save as st_save

from core.checkpoint import (
    load_checkpoint,
    load_checkpoint_file,
    read_metadata,
    same_weights,
    save_checkpoint,
    save_checkpoint_file,
)
from core.errors import UserError
from core.models import MODEL_NAMES, build_model, build_seeded


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_gives_the_same_model(name):
    model = build_seeded(name, 0).eval()
    if name == "bn_cnn":  # running statistics must travel too
        model.bn1.running_mean.fill_(0.25)
    blob = save_checkpoint(model, {"test_acc": 0.987, "note": "训练 1 轮"})
    loaded, meta = load_checkpoint(blob)
    assert meta["model"] == name and meta["options"] == model.options
    assert meta["test_acc"] == 0.987 and meta["note"] == "训练 1 轮"
    assert same_weights(model, loaded) and not loaded.training
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model(x))


def test_options_are_restored():
    model = build_model("two_layer_cnn", batch_norm=True, dropout=0.1)
    loaded, _ = load_checkpoint(save_checkpoint(model))
    assert isinstance(loaded.bn1, torch.nn.BatchNorm2d) and loaded.dropout1.p == 0.1


def test_file_round_trip_is_atomic(tmp_path):
    path = save_checkpoint_file(tmp_path / "w" / "model.safetensors", build_seeded("mlp", 1))
    assert [p.name for p in path.parent.iterdir()] == ["model.safetensors"]  # no temporary left behind
    loaded, meta = load_checkpoint_file(path)
    assert same_weights(loaded, build_seeded("mlp", 1)) and meta["model"] == "mlp"


def _refused(blob: bytes, match: str) -> UserError:
    with pytest.raises(UserError, match=match) as err:
        load_checkpoint(blob)
    assert err.value.zh and err.value.zh != err.value.en
    return err.value


def test_truncated_files_are_refused():
    blob = save_checkpoint(build_seeded("lenet5", 0))
    for cut in (0, 4, 8, 40, len(blob) // 2, len(blob) - 1):
        _refused(blob[:cut], "not a weights file")


def test_pickles_are_refused_without_being_unpickled():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle was executed')",))

    _refused(pickle.dumps(Boom()), "pickle")
    buf = io.BytesIO()
    torch.save(build_model("mlp").state_dict(), buf)
    _refused(buf.getvalue(), "pickle")


def test_foreign_and_mismatched_files_are_refused():
    _refused(b"GIF89a" + bytes(100), "not a weights file")
    _refused(st_save({"w": torch.zeros(3)}), "does not say")  # a safetensors file from elsewhere
    wrong = st_save(build_model("mlp").state_dict(), metadata={"model": '"two_layer_cnn"', "options": "{}"})
    _refused(wrong, "do not fit")
    mismatched = st_save(
        build_model("two_layer_cnn").state_dict(),
        metadata={"model": '"two_layer_cnn"', "options": '{"batch_norm": true}'},
    )
    _refused(mismatched, "do not fit")


def test_metadata_is_readable_without_the_tensors():
    blob = save_checkpoint(build_model("slides_cnn"), {"test_acc": 0.5})
    assert read_metadata(blob) == {"test_acc": 0.5, "model": "slides_cnn", "options": {}}


def test_only_zoo_models_can_be_saved():
    with pytest.raises(UserError):
        save_checkpoint(torch.nn.Linear(3, 3))
