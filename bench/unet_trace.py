"""How long and how much memory the SD-1.5 UNet trace costs, beside the obvious alternative.

Ours: `inspect_unet(SD15, 512, 512, guidance=True)`: build the real UNet2DConditionModel on the meta
device and run one hooked forward pass (shapes only).
Reference: instantiate the same UNet with real fp32 weights on the CPU (what you would do without
meta tensors, before even running a forward pass).

Each runs in a fresh Python process, so peak RSS (ru_maxrss) is its own. Imports are timed apart.
Goal (issue #8): trace <= 2 s on CPU, peak memory < 1 GB.

    .venv/bin/python bench/unet_trace.py            # both
    .venv/bin/python bench/unet_trace.py --no-reference
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
import torch, diffusers.models.unets.unet_2d_condition
from core import unet
from core.models import count_parameters
imported = time.perf_counter() - t0
rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

OURS = (
    PRELUDE
    + """
times, cpu = [], []
for _ in range(3):
    t0, c0 = time.perf_counter(), time.process_time()
    rows = unet.inspect_unet(unet.SD15, 512, 512, batch=1, guidance=True)
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
assert unet.total_parameters(rows) == unet.SD15_PARAMETERS
print(json.dumps(dict(import_s=imported, first_s=times[0], best_s=min(times), cpu_s=min(cpu),
                      rss_import_mb=rss_after_import,
                      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""
)

REFERENCE = (
    PRELUDE
    + """
t0, c0 = time.perf_counter(), time.process_time()
model = unet.build_unet(unet.SD15, "cpu")  # real fp32 weights, randomly initialised
built, cpu = time.perf_counter() - t0, time.process_time() - c0
assert count_parameters(model) == unet.SD15_PARAMETERS
print(json.dumps(dict(import_s=imported, first_s=built, best_s=built, cpu_s=cpu,
                      rss_import_mb=rss_after_import,
                      peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""
)


def measure(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [("meta trace (ours)", measure(OURS))]
    if "--no-reference" not in sys.argv:
        rows.append(("real fp32 UNet on CPU, build only (reference)", measure(REFERENCE)))
    print(
        f"{'':48} {'import s':>9} {'first s':>8} {'best s':>7} {'CPU s':>6} "
        f"{'RSS after import MB':>20} {'peak RSS MB':>12}"
    )
    for name, r in rows:
        print(
            f"{name:48} {r['import_s']:9.1f} {r['first_s']:8.2f} {r['best_s']:7.2f} {r['cpu_s']:6.2f} "
            f"{r['rss_import_mb']:20.0f} {r['peak_mb']:12.0f}"
        )
    ours = rows[0][1]
    print("(wall times rise with the machine's load; CPU s is the process's own CPU time)")
    print(
        f"goal: trace <= 2 s -> {ours['best_s']:.2f} s; peak < 1024 MB -> {ours['peak_mb']:.0f} MB "
        f"({ours['peak_mb'] - ours['rss_import_mb']:.0f} MB above torch+diffusers themselves)"
    )


if __name__ == "__main__":
    main()
