"""One prepared GPU check (`make gpu-check`): everything that needs CUDA, in ≤ 5 minutes, as one table.

It runs, each as its own process with a time limit, and prints one table at the end:
1. the unit suite on CUDA (every non-browser, non-slow test; `gpu` tests included);
2. the trainer bench (`bench/train_mnist.py --device cuda`);
3. the SD bench on a full-size SD-1.5 with random weights built from configs (`bench/random_sd15.py`),
   plain diffusers vs ours, then ours with `torch.compile` (speed, first image, same-seed difference);
4. an AppTest of every page on CUDA (the page tests' non-browser part).

On a fresh GPU machine that has PyTorch but not this project's venv, carry the missing wheels and the
data (docs/gpu.md: `tools/gpu_wheels.sh` fills .whl/ and .gpu/ here) and start with
`source tools/gpu_env.sh` there.

    python bench/gpu_check.py                 # on the GPU machine
    python bench/gpu_check.py --cpu --quick   # here: proves every step runs (tiny sizes, the CPU)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
sys.path.insert(0, str(ROOT))


@dataclass
class Step:
    name: str
    command: list[str]
    timeout: float
    figures: str  # regex of the output lines worth showing in the table


def steps(cpu: bool, quick: bool, model_dir: str) -> list[Step]:
    device = "cpu" if cpu else "cuda"
    pytest = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout", "300"]
    if not cpu:
        pytest += ["-n", "8", "-v"]  # pytest-xdist (the image has it); -v names each failure as it happens
    from core import data

    if not (data.data_dir() / "fashion.npz").exists() and not data.DEBIAN_FASHION_DIR.exists():
        pytest += ["-k", "not fashion"]  # Fashion-MNIST does not fit the device tool's carry limit
    page_tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*_page.py"))
    unit = [*pytest, "-m", "not browser and not slow"]
    unit += ["tests/test_device.py"] if quick else ["tests", *(f"--ignore={p}" for p in page_tests)]
    train = [PY, "bench/train_mnist.py", "--device", device, "--max-epochs", "2"]
    train += ["--dry-run"] if quick else []
    sd = [PY, "bench/sd_img2img.py", "--repeats", "1" if quick else "2"]
    sd += ["--tiny", "--cpu", "--steps", "4", "--side", "64"] if cpu else ["--model", model_dir, "--compile"]
    pages = [*pytest, "-m", "not browser", *(["tests/test_app_shell.py"] if quick else page_tests)]
    slow = 4 if cpu else 1  # the CPU proof runs on a 2-core machine, maybe a busy one
    return [
        Step("unit suite", unit, 300 * slow, r"passed|failed|error|FAILED"),
        Step("trainer bench", train, 150 * slow, r"images/s|ratio|GPU goal|page default|batch .* epochs"),
        Step("SD bench", sd, 300 * slow, r"steps/s|first image|speed-up|pixel difference"),
        Step("AppTests on " + device.upper(), pages, 200 * slow, r"passed|failed|error|FAILED"),
    ]


def run(step: Step, env: dict[str, str], log_dir: Path) -> tuple[str, float, list[str]]:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            step.command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=step.timeout
        )
        text, status = proc.stdout + proc.stderr, "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    except subprocess.TimeoutExpired as err:
        parts = [p.decode(errors="replace") if isinstance(p, bytes) else p for p in (err.stdout, err.stderr)]
        text, status = "".join(p or "" for p in parts), f"timeout {step.timeout:.0f} s"
    seconds = time.monotonic() - start
    (log_dir / f"{re.sub(r'[^a-z0-9]+', '_', step.name.lower())}.log").write_text(text)
    lines = [x.strip() for x in text.splitlines() if re.search(step.figures, x)]
    return status, seconds, lines[-12:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="no GPU: run every step small on the CPU")
    parser.add_argument("--quick", action="store_true", help="the smallest form of each step")
    parser.add_argument("--only", default="", help="comma-separated words: run the steps whose name has one")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ROOT / "bench" / "results")))
    args = parser.parse_args(argv)

    import torch

    if not args.cpu and not torch.cuda.is_available():
        print(
            "No CUDA GPU here. On a GPU machine run `make gpu-check`; here `--cpu --quick` checks the script."
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", OFFLINE="1")
    env.setdefault("MODEL_DIR", tempfile.mkdtemp(prefix="gpu-check-models-"))
    device = "CPU" if args.cpu else torch.cuda.get_device_name(0)
    print(f"GPU check on {device}; torch {torch.__version__}; logs in {args.out}", flush=True)

    words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    model_dir = ""
    if not args.cpu and (not words or any(w in "sd bench" for w in words)):
        sys.path.insert(0, str(ROOT / "bench"))
        from random_sd15 import build_random_sd15

        t0 = time.monotonic()
        model_dir = str(build_random_sd15(Path(tempfile.mkdtemp(prefix="sd15-")) / "sd15"))
        print(f"full-size random SD-1.5 built and saved in {time.monotonic() - t0:.1f} s", flush=True)

    rows = []
    for step in steps(args.cpu, args.quick, model_dir):
        if words and not any(w in step.name.lower() for w in words):
            continue
        status, seconds, figures = run(step, env, args.out)
        rows.append((step.name, status, seconds, figures))
        print(f"- {step.name}: {status} in {seconds:.0f} s", flush=True)

    print("\n| step | status | time | figures |\n|---|---|---:|---|")
    for name, status, seconds, figures in rows:
        print(f"| {name} | {status} | {seconds:.0f} s | {'<br>'.join(figures) or '—'} |")
    return 0 if all(r[1] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
