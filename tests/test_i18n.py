"""Both languages have every string; every key the code uses exists."""

import re
from pathlib import Path

from ui.i18n import TABLES
from ui.i18n.common import GLOSSARY

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.\-]+)["']""")
KEY_ATTR = re.compile(r"""_key\s*=?\s*["']([a-z][A-Za-z0-9_.\-]+)["']""")


def test_both_tables_have_the_same_keys():
    zh, en = set(TABLES["zh"]), set(TABLES["en"])
    assert zh - en == set(), f"only in zh: {sorted(zh - en)}"
    assert en - zh == set(), f"only in en: {sorted(en - zh)}"


def test_placeholders_match_between_languages():
    field = re.compile(r"\{(\w+)")
    for key, en in TABLES["en"].items():
        assert set(field.findall(en)) == set(field.findall(TABLES["zh"][key])), key


def test_no_empty_strings_and_chinese_is_chinese():
    for key in TABLES["en"]:
        assert TABLES["en"][key].strip() and TABLES["zh"][key].strip(), key


def test_every_key_used_in_code_exists():
    used = set()
    for path in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(KEY_USE.findall(text))
    missing = sorted(k for k in used if k not in TABLES["en"])
    assert not missing, f"keys used but not defined: {missing}"


def test_glossary_has_the_course_terms():
    terms = dict(GLOSSARY)
    assert terms["卷积核"] == "kernel" and terms["步幅"] == "stride" and terms["填充"] == "padding"
    assert terms["池化"] == "pooling" and terms["特征图"] == "feature map"
