"""The exported notebook runs (nbclient, a real kernel) and reproduces the app's accuracy on a subset."""

import os
from dataclasses import asdict

import nbformat
import pytest

from core import models, notebook, train


def test_notebook_is_valid_and_has_the_model_source():
    config = asdict(train.TrainConfig())
    nb = nbformat.reads(notebook.run_notebook(config, "resnet_small", {}, 7).decode(), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "class ResNetSmall" in code and "class BasicBlock" in code  # the block it is built from
    assert "INIT_SEED = 7" in code and "from core" not in code and "import core" not in code


@pytest.mark.slow
def test_executed_notebook_matches_the_app(mnist, monkeypatch):
    from nbclient import NotebookClient

    config = train.TrainConfig(train_subset=1024, batch_size=64, epochs=1, optimizer="sgd_momentum", lr=0.05)
    model = models.build_seeded("two_layer_cnn", 3, dropout=0.3)
    train.fit(model, mnist, config)
    app_acc = train.evaluate(model, mnist)["acc"]

    nb = nbformat.reads(
        notebook.run_notebook(asdict(config), "two_layer_cnn", {"dropout": 0.3}, 3, app_acc).decode(),
        as_version=4,
    )
    monkeypatch.setenv("OFFLINE", "1")  # the kernel inherits it: the notebook's offline branch, no network
    NotebookClient(nb, timeout=600, kernel_name="python3", cwd=os.getcwd()).execute()
    scope = {}
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    line = next(x for x in printed.splitlines() if x.startswith("test accuracy:"))
    scope["nb_acc"] = float(line.split()[2])
    assert abs(scope["nb_acc"] - app_acc) <= 0.005, (scope["nb_acc"], app_acc)
