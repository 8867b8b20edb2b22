"""Export a training run as a Jupyter notebook (nbformat) that reproduces it with plain PyTorch.

TF Playground's oldest request is "export the model as code". This notebook is what a student takes
home: the model class as source, the data (torchvision's MNIST, offline the copy the app keeps), the
run's exact settings and seeds, a plain training loop with the same recipe as `core.train.fit`, the
test accuracy and the curves. It imports nothing from this app.

    nb = run_notebook(config, model_name="two_layer_cnn", options={"dropout": 0.3}, init_seed=0)
    Path("run.ipynb").write_bytes(nb)
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from core import models as zoo


def model_source(name: str) -> str:
    """The source of model `name`'s class, preceded by the zoo's classes and helpers it calls."""
    needed: list[Any] = []

    def visit(obj: Any) -> None:
        source = inspect.getsource(obj)
        for other in vars(zoo).values():
            local = (inspect.isclass(other) or inspect.isfunction(other)) and other.__module__ == zoo.__name__
            if (
                local
                and other is not obj
                and other not in needed
                and re.search(rf"\b{other.__name__}\(", source)
            ):
                visit(other)
        if obj not in needed:
            needed.append(obj)

    visit(type(zoo.build_model(name)))
    return "\n\n".join(inspect.getsource(obj) for obj in needed)


DATA_CELL = """# MNIST as uint8 tensors: torchvision's download; offline, the app's copy (`make prepare`).
import os
from pathlib import Path

def load_mnist():
    if os.environ.get("OFFLINE", "").lower() not in ("1", "true", "yes"):
        try:
            from torchvision import datasets
            train = datasets.MNIST("data", train=True, download=True)
            test = datasets.MNIST("data", train=False, download=True)
            return train.data, train.targets, test.data, test.targets
        except Exception as err:  # no network: use the offline copy below
            print("torchvision download failed:", err)
    cache = Path(os.environ.get("DATA_DIR", "~/.cache/dl-teaching-app/data")).expanduser() / "mnist.npz"
    arrays = np.load(cache)  # plain arrays, no pickle
    return tuple(torch.from_numpy(arrays[k]) for k in ("train_x", "train_y", "test_x", "test_y"))

train_x, train_y, test_x, test_y = load_mnist()
train_x, train_y = train_x[: CONFIG["train_subset"]], train_y[: CONFIG["train_subset"]]
print(train_x.shape, test_x.shape)  # (N, 28, 28) uint8 and (10000, 28, 28) uint8"""

TRAIN_CELL = '''def normalize(x):
    """uint8 (B, 28, 28) -> float (B, 1, 28, 28) with MNIST's mean and std."""
    return ((x.float() / 255.0 - 0.1307) / 0.3081).unsqueeze(1)

def make_optimizer(params, c):
    if c["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=c["lr"], weight_decay=c["weight_decay"])
    if c["optimizer"] == "sgd_momentum":
        return torch.optim.SGD(params, lr=c["lr"], momentum=c["momentum"], weight_decay=c["weight_decay"])
    if c["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=c["lr"], weight_decay=c["weight_decay"])
    return torch.optim.AdamW(params, lr=c["lr"], weight_decay=c["weight_decay"])

torch.manual_seed(INIT_SEED)                      # the initial weights
model = MODEL_CLASS(**OPTIONS)
torch.manual_seed(CONFIG["seed"])                 # dropout masks
generator = torch.Generator().manual_seed(CONFIG["seed"])  # batch order
optimizer = make_optimizer(model.parameters(), CONFIG)
n, batch = len(train_x), CONFIG["batch_size"]
steps_per_epoch = n // batch + (1 if n % batch >= 2 else 0)  # a last batch of one image is dropped
scheduler = None
if CONFIG["schedule"] == "onecycle":
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=CONFIG["lr"],
                                                    total_steps=steps_per_epoch * CONFIG["epochs"])
losses = []
model.train()
for epoch in range(CONFIG["epochs"]):
    order = torch.randperm(n, generator=generator)
    for i in range(steps_per_epoch):
        idx = order[i * batch : (i + 1) * batch]
        logits = model(normalize(train_x[idx]))           # (B, 10)
        loss = F.cross_entropy(logits, train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    print(f"epoch {epoch + 1}: last loss {losses[-1]:.4f}")'''

EVAL_CELL = """model.eval()
with torch.no_grad():
    chunks = [test_x[i : i + 1000] for i in range(0, len(test_x), 1000)]
    predicted = torch.cat([model(normalize(x)).argmax(1) for x in chunks])
test_acc = (predicted == test_y).float().mean().item()
print(f"test accuracy: {test_acc:.4f}   (the app measured {APP_TEST_ACC:.4f})")"""

CURVE_CELL = """import matplotlib.pyplot as plt

plt.figure(figsize=(7, 3.5))
plt.plot(losses, lw=0.8)
plt.yscale("log")
plt.xlabel("step")
plt.ylabel("training loss (cross-entropy)")
plt.title(f"{MODEL_NAME}: test accuracy {test_acc:.2%}")
plt.show()"""


def run_notebook(
    config: Mapping[str, Any],
    model_name: str,
    options: Mapping[str, Any],
    init_seed: int,
    app_test_acc: float | None = None,
) -> bytes:
    """A runnable .ipynb (as bytes) that reproduces a `core.train.fit` run of `model_name` with `config`."""
    keep = (
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "batch_size",
        "epochs",
        "train_subset",
        "schedule",
        "seed",
    )
    settings = {k: config[k] for k in keep}
    cls_name = type(zoo.build_model(model_name)).__name__
    app_acc = 'float("nan")' if app_test_acc is None else repr(float(app_test_acc))
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell(
            f"# {model_name} on MNIST, as trained in the app\n\n"
            f"This notebook reproduces one training run of the course app with plain PyTorch: "
            f"the same model, "
            f"data, settings, seeds and recipe (mini-batches from one seeded permutation per epoch"
            f"{', a one-cycle learning rate' if settings['schedule'] == 'onecycle' else ''}). "
            f"Run all cells; change `CONFIG` and run again.\n\n"
            f"本笔记本用纯 PyTorch 复现应用中的一次训练：同样的模型、数据、设置、随机种子和训练流程。"
        ),
        new_code_cell(
            "import numpy as np\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn"
        ),
        new_markdown_cell("## 1. The run's settings"),
        new_code_cell(
            f"MODEL_NAME = {model_name!r}\nOPTIONS = {dict(options)!r}\nINIT_SEED = {int(init_seed)}\n"
            f"CONFIG = {settings!r}\nAPP_TEST_ACC = {app_acc}"
        ),
        new_markdown_cell("## 2. The model"),
        new_code_cell(f"{model_source(model_name)}\n\nMODEL_CLASS = {cls_name}"),
        new_markdown_cell("## 3. The data"),
        new_code_cell(DATA_CELL),
        new_markdown_cell("## 4. Training"),
        new_code_cell(TRAIN_CELL),
        new_markdown_cell("## 5. Test accuracy"),
        new_code_cell(EVAL_CELL),
        new_markdown_cell("## 6. The curve"),
        new_code_cell(CURVE_CELL),
    ]
    nbformat.validate(nb)
    return nbformat.writes(nb).encode("utf-8")
