"""Keeping a trainer run: the TensorBoard zip of the session's runs and the notebook, from real Runs."""

import io
import zipfile

import nbformat
import pytest

from core import runlog, train
from tests.conftest import app_test
from ui.keep import from_run, tensorboard_zip


@pytest.fixture(scope="module")
def runs(mnist):
    config = train.TrainConfig(train_subset=256, batch_size=64, log_every=1)
    return [train.train_run(i, mnist, config, {"dropout": 0.3}) for i in (1, 2)]


def test_tensorboard_zip_holds_every_run_with_its_numbers(runs, mnist, tmp_path):
    kept = [from_run(r, mnist.test_y) for r in runs]
    blob = tensorboard_zip(kept)
    zipfile.ZipFile(io.BytesIO(blob)).extractall(tmp_path)
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders == [runlog.safe_name(r.label) for r in runs]
    scalars = runlog.read_scalars(tmp_path / "runs" / folders[0])
    last = runs[0].history.steps[-1]
    assert dict(scalars["test/acc"])[int(last["step"])] == pytest.approx(runs[0].test_acc, rel=1e-6)


def test_notebook_of_a_run_names_its_settings(runs, mnist):
    from core.notebook import run_notebook

    k = from_run(runs[1], mnist.test_y)
    nb = nbformat.reads(run_notebook(k.config, k.model_name, k.options, k.init_seed, k.test_acc).decode(), 4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f"INIT_SEED = {runs[1].init_seed}" in code and "'train_subset': 256" in code
    assert k.confusion.sum() == 10_000


def test_trainer_page_offers_to_keep_a_run(runs, monkeypatch, tmp_path):
    monkeypatch.setenv("LEADERBOARD_URL", f"sqlite:///{tmp_path / 'b.sqlite'}")
    at = app_test("pages/mnist_trainer.py", "en", **{"train.runs": runs, "train.inspect": runs[0].id})
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download TensorBoard logs (all runs)" in labels and "Download as notebook (.ipynb)" in labels
    at.text_input(key="train.keep.nickname").input("小明")
    at.button(key="train.keep.post_btn").click().run()
    assert (
        not at.exception and at.success[-1].value == "Posted. Open the class leaderboard to see your place."
    )
    from core.leaderboard import Leaderboard

    board = Leaderboard(f"sqlite:///{tmp_path / 'b.sqlite'}").top()
    assert [(e.nickname, e.test_acc) for e in board] == [("小明", runs[0].test_acc)]


def test_vae_page_offers_its_last_runs_tensorboard_logs():
    at = app_test("pages/vae_sampler.py", "en")
    setting = (
        at.session_state["vae.dataset"],
        at.session_state["vae.z"],
        float(at.session_state["vae.beta"]),
    )
    records = [
        {"step": 1.0, "progress": 0.5, "loss": 200.0, "recon": 180.0, "kl": 20.0},
        {"step": 2.0, "progress": 1.0, "loss": 150.0, "recon": 135.0, "kl": 15.0, "test_loss": 151.0},
    ]
    at.session_state["vae.last_run"] = (setting, records)
    at.run()
    assert not at.exception
    assert "Download this run's TensorBoard logs" in [b.label for b in at.get("download_button")]
