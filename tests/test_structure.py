"""Architecture rules: core never imports Streamlit; nothing heavy runs at import time."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_never_imports_streamlit():
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path} imports streamlit"


def test_importing_core_and_the_shell_stays_light():
    """The home page must not pay for diffusers/transformers: check what the shell imports."""
    code = (
        "import sys, core.data, core.device, ui.shell, ui.i18n, ui.pages; "
        "print(','.join(m for m in ('diffusers', 'transformers', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported by the shell: {out.stdout}"


def test_every_page_is_registered_and_exists():
    from ui.pages import HOME, PAGES

    files = {HOME, *(p.file for p in PAGES)}
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert files == on_disk
    assert len({p.url for p in PAGES}) == len(PAGES)
