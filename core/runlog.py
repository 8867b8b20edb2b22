"""Real TensorBoard logs of a training run, written with `torch.utils.tensorboard.SummaryWriter`.

Seed 004 logs training and validation loss and accuracy with TensorBoard and reads the curves there.
Any run whose progress records look like `core.train.fit`'s (a dict per report with `step` and
numbers; `test_*` for evaluations) can be logged, so every page that trains uses the same writer.

    with tempfile.TemporaryDirectory() as root:
        write_run(Path(root), "run1_two_layer_cnn", history.steps, hparams=config, final={"test_acc": .99})
        blob = zip_folder(Path(root))      # several runs in one folder: TensorBoard compares them
    # tensorboard --logdir runs/
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

NOT_SCALARS = {"step", "epoch", "progress", "time"}


def scalar_tag(key: str) -> str:
    """TensorBoard tag of a record key: `test_acc` -> `test/acc`, `loss` -> `train/loss`, `lr` -> `lr`."""
    if key == "lr":
        return "lr"
    if key.startswith("test_"):
        return f"test/{key[5:]}"
    return f"train/{key}"


def safe_name(text: str) -> str:
    """A folder name from a run label: letters, digits, `._-` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "run"


def confusion_image(matrix: np.ndarray, cell: int = 28) -> np.ndarray:
    """(10, 10) counts -> (H, W, 3) uint8 heatmap, counts written in; rows true, columns predicted."""
    from PIL import Image, ImageDraw

    m = np.asarray(matrix, dtype=float)
    n = m.shape[0]
    margin = cell
    img = Image.new("RGB", (margin + n * cell, margin + n * cell), "white")
    draw = ImageDraw.Draw(img)
    scale = np.log1p(m) / max(np.log1p(m).max(), 1e-9)
    for i in range(n):
        draw.text((margin + i * cell + cell // 3, margin // 4), str(i), fill="black")  # predicted
        draw.text((margin // 3, margin + i * cell + cell // 4), str(i), fill="black")  # true
        for j in range(n):
            shade = int(255 - 200 * scale[i, j])
            box = (
                margin + j * cell,
                margin + i * cell,
                margin + (j + 1) * cell - 1,
                margin + (i + 1) * cell - 1,
            )
            draw.rectangle(box, fill=(shade, shade, 255))
            draw.text(
                (box[0] + 3, box[1] + cell // 4), f"{int(m[i, j])}", fill="white" if shade < 140 else "black"
            )
    return np.asarray(img)


def _hparam_value(value: Any) -> Any:
    """TensorBoard's hparams take int, float, str, bool (or a tensor): anything else becomes its text."""
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def write_run(
    root: Path,
    name: str,
    records: Iterable[Mapping[str, float]],
    *,
    hparams: Mapping[str, Any] | None = None,
    final: Mapping[str, float] | None = None,
    model: nn.Module | None = None,
    example_input: torch.Tensor | None = None,
    confusion: np.ndarray | None = None,
) -> Path:
    """Write one run's event files under root/name; returns that folder.

    records: progress reports with `step` (global step) and numbers (train values, `test_*` values, `lr`);
    hparams + final: the run's settings and final metrics (TensorBoard's HPARAMS tab);
    model + example_input: the model graph (traced once on the CPU);
    confusion: the (10, 10) confusion matrix, logged as an image.
    """
    from torch.utils.tensorboard import SummaryWriter

    folder = root / safe_name(name)
    writer = SummaryWriter(log_dir=str(folder))
    try:
        for record in records:
            step = int(record.get("step", 0))
            for key, value in record.items():
                if key not in NOT_SCALARS and isinstance(value, (int, float)):
                    writer.add_scalar(scalar_tag(key), float(value), global_step=step)
        if confusion is not None:
            writer.add_image("confusion_matrix", confusion_image(confusion), dataformats="HWC")
        if model is not None and example_input is not None:
            was_training = model.training
            model.eval()
            writer.add_graph(model.cpu(), example_input.cpu())
            model.train(was_training)
        if hparams is not None:
            metrics = {f"hparam/{k}": float(v) for k, v in (final or {}).items()}
            writer.add_hparams({k: _hparam_value(v) for k, v in hparams.items()}, metrics, run_name=".")
    finally:
        writer.close()
    return folder


def zip_folder(root: Path, prefix: str = "runs") -> bytes:
    """Every file under root as a zip (`prefix/<run>/events...`): unzip, `tensorboard --logdir runs`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, f"{prefix}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue()


def read_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Read event files back with TensorBoard's own reader: {tag: [(step, value), ...]}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
