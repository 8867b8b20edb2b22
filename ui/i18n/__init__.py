"""One table of UI strings in Chinese and English, assembled from one module per page.

Each module in this package defines `EN` and `ZH`, two dicts with the same keys, prefixed by the
page's area (`conv.`, `train.`, ...). `t(key, **fields)` looks a key up in the session's language.
Modules are discovered automatically, so a new page adds a file here and touches nothing else.
"""

from __future__ import annotations

import importlib
import pkgutil

LANGS = ("zh", "en")
LANG_LABELS = {"zh": "中文", "en": "English"}


def _assemble() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for lang, table in (("zh", module.ZH), ("en", module.EN)):
            for key, text in table.items():
                if key in tables[lang] and owner.get((lang, key)) != info.name:
                    raise KeyError(f"i18n key {key!r} defined in both {owner[(lang, key)]} and {info.name}")
                tables[lang][key] = text
                owner[(lang, key)] = info.name
    return tables


TABLES = _assemble()


def current_lang() -> str:
    """The session's language: the sidebar choice, else the browser's locale, else Chinese."""
    import streamlit as st

    lang = st.session_state.get("lang")
    if lang in LANGS:
        return lang
    return default_lang()


def default_lang() -> str:
    """zh unless the browser says it prefers a non-Chinese language."""
    import streamlit as st

    try:
        locale = (st.context.locale or "").lower()
    except Exception:  # AppTest and old Streamlit have no browser locale
        locale = ""
    return "en" if locale and not locale.startswith("zh") else "zh"


def labeller(prefix: str, lang: str | None = None):
    """A widget's `format_func` for options named by i18n keys `prefix + option`, bound to the language now.

    Streamlit may call `format_func` after the script run has ended (and AppTest always does), when
    the session's language can no longer be read: so the language is taken here, once.
    """
    bound = lang or current_lang()
    return lambda option: t(f"{prefix}{option}", bound)


def t(key: str, lang: str | None = None, **fields: object) -> str:
    """The string for `key` in the session's language, with `{fields}` filled in."""
    text = TABLES[lang or current_lang()][key]  # a missing key is a bug: fail loudly (a test checks)
    return text.format(**fields) if fields else text
