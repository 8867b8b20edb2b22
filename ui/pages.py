"""The app's pages, in one list: the router (app.py), the home page and the tests all read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str  # path from the repo root
    url: str  # stable url_path, the same in both languages
    title_key: str  # i18n key of the title
    group_key: str  # i18n key of its navigation group
    blurb_key: str  # i18n key of its one-line description on the home page
    icon: str


PAGES = (
    # Convolution
    PageSpec(
        "pages/conv_explorer.py", "conv", "nav.conv", "nav.group.conv", "home.conv", ":material/grid_on:"
    ),
    # Training
    PageSpec(
        "pages/backprop.py",
        "backprop",
        "nav.backprop",
        "nav.group.training",
        "home.backprop",
        ":material/functions:",
    ),
    PageSpec(
        "pages/mnist_trainer.py",
        "trainer",
        "nav.trainer",
        "nav.group.training",
        "home.trainer",
        ":material/model_training:",
    ),
    PageSpec(
        "pages/feature_maps.py",
        "features",
        "nav.features",
        "nav.group.training",
        "home.features",
        ":material/layers:",
    ),
    PageSpec(
        "pages/leaderboard.py",
        "leaderboard",
        "nav.board",
        "nav.group.training",
        "home.board",
        ":material/leaderboard:",
    ),
    # Building blocks
    PageSpec(
        "pages/residual.py",
        "residual",
        "nav.residual",
        "nav.group.blocks",
        "home.residual",
        ":material/call_split:",
    ),
    PageSpec(
        "pages/attention.py",
        "attention",
        "nav.attention",
        "nav.group.blocks",
        "home.attention",
        ":material/center_focus_strong:",
    ),
    PageSpec(
        "pages/normalization.py", "norm", "nav.norm", "nav.group.blocks", "home.norm", ":material/tune:"
    ),
    # Generative
    PageSpec(
        "pages/vae_sampler.py", "vae", "nav.vae", "nav.group.generative", "home.vae", ":material/blur_on:"
    ),
    PageSpec(
        "pages/mnist_diffusion.py",
        "diffusion",
        "nav.diffusion",
        "nav.group.generative",
        "home.diffusion",
        ":material/grain:",
    ),
    PageSpec(
        "pages/sd_fantasy.py", "fantasy", "nav.sd", "nav.group.generative", "home.sd", ":material/landscape:"
    ),
    PageSpec(
        "pages/unet_inspector.py",
        "unet",
        "nav.unet",
        "nav.group.generative",
        "home.unet",
        ":material/account_tree:",
    ),
    PageSpec(
        "pages/language_model.py", "lm", "nav.lm", "nav.group.generative", "home.lm", ":material/history_edu:"
    ),
)
HOME = "pages/home.py"
