"""Server-side caps for a hosted classroom copy, all in one place, read from environment variables.

On a laptop the defaults are generous; a lecturer hosting for forty students lowers them (see the
README's "Host it for your class"). Pages clamp their sliders to these values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Limits:
    max_epochs: int = 20  # MAX_EPOCHS: training epochs per run
    max_train_subset: int = 60_000  # MAX_TRAIN_SUBSET: training images per run
    max_embed_points: int = 5_000  # MAX_EMBED_POINTS: points in a PCA/t-SNE view
    max_sd_steps: int = 50  # MAX_SD_STEPS: denoising steps per Stable Diffusion run
    max_sd_side: int = 768  # MAX_SD_SIDE: longer side of a generated image, in pixels
    max_sd_side_cpu: int = 512  # MAX_SD_SIDE_CPU: the same when generating on a CPU
    max_upload_mb: int = 10  # MAX_UPLOAD_MB (also server.maxUploadSize in .streamlit/config.toml)


def load_limits() -> Limits:
    """Limits from the environment (e.g. MAX_EPOCHS=5); unset or unparsable values keep the default."""
    values = {}
    for f in fields(Limits):
        raw = os.environ.get(f.name.upper())
        if raw:
            try:
                values[f.name] = max(1, int(raw))
            except ValueError:
                pass
    return Limits(**values)


LIMITS = load_limits()
