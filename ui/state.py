"""Page settings that live in the URL, so a lecturer can share a link that reproduces the exact view.

Usage in a page: one declaration at the top names every key of the page's area, with its default and,
where a hand-edited link could ask for anything, its choices (a `(default, choices)` pair):

    s = url_state("conv.", stride=(1, range(1, 5)), bias=0.0)  # URL > remembered > default, mirrored now
    st.slider(label, 1, 4, key="conv.stride")  # widgets read session state: key=, never value=
    s.stride                                    # == st.session_state["conv.stride"]
    s.sync()                                    # only at the end of an @st.fragment (its reruns skip the top)

The declaration mirrors the area's values into the address bar at the top of every run, when session
state already holds the change that caused the run (widgets and callbacks update it first). Values also
survive switching to another page and back (Streamlit forgets the widget state of pages that are not
shown; we keep a copy). `url_default` and `sync_url` are the one-key building blocks underneath.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import streamlit as st

from ui.i18n import current_lang

MAX_URL_TEXT = (
    300  # characters: a longer value (a pasted 10,000-character prompt) stays out of the address bar
)
_KEEP = "_url_state_keep"
_DEFAULTS = "_url_state_defaults"
_LANG = "_url_state_lang"  # key -> the language its widget last showed


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(float(raw))
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list) and not default:  # names of any length, e.g. a multiselect's choice
        items = json.loads(raw)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("not a list of names")
        return items
    if isinstance(default, (list, tuple)):
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) != len(default):
            raise ValueError("length differs")
        return type(default)(
            _parse(json.dumps(i) if not isinstance(i, str) else i, d)
            for i, d in zip(items, default, strict=True)
        )
    return raw


def _dump(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), ensure_ascii=False, separators=(",", ":"))
    return str(value)


def url_default(key: str, default: Any, choices: Collection[Any] | None = None) -> Any:
    """Put `key`'s starting value in session state (URL > remembered > default) and return it.

    A URL value that does not parse, or is not among `choices`, is ignored: a hand-edited link can
    never break the page.
    """
    st.session_state.setdefault(_DEFAULTS, {})[key] = default
    if key not in st.session_state:
        value = st.session_state.get(_KEEP, {}).get(key, default)
        raw = st.query_params.get(key)
        if raw is not None:
            try:
                parsed = _parse(raw, default)
                if choices is None or parsed in choices:
                    value = parsed
            except (ValueError, TypeError, json.JSONDecodeError):
                pass
        st.session_state[key] = value
    seen, lang = st.session_state.setdefault(_LANG, {}), current_lang()
    if seen.setdefault(key, lang) != lang:
        # A choice widget holds its option's label, not the option: after a language switch it would go
        # on showing, and send back, the old language's label (a page then read "两层 CNN（作业 000）" as
        # the model's name). Setting the value again makes Streamlit send it in the new language's labels.
        st.session_state[key] = st.session_state[key]
        seen[key] = lang
    return st.session_state[key]


def sync_url(*keys: str) -> None:
    """Mirror the current values of `keys` into the URL (defaults, and values over MAX_URL_TEXT characters,
    are left out to keep links short).

    A key ending in "." names a page's area: `sync_url("conv.")` mirrors every key declared with
    `url_default("conv....")`, so each page lists its URL keys once, where it declares them.
    """
    keep = st.session_state.setdefault(_KEEP, {})
    defaults = st.session_state.get(_DEFAULTS, {})
    keys = tuple(
        k
        for key in keys
        for k in ([d for d in defaults if d.startswith(key)] if key.endswith(".") else [key])
    )
    for key in keys:
        if key not in st.session_state:
            continue
        value = st.session_state[key]
        keep[key] = value
        text = _dump(value)
        if (key in defaults and value == defaults[key]) or len(text) > MAX_URL_TEXT:
            if key in st.query_params:
                del st.query_params[key]  # the session still holds it; only the link leaves it out
        elif st.query_params.get(key) != text:
            st.query_params[key] = text


class UrlState:
    """One area's session state by short name: `s.lr` reads (`s.lr = v` writes) session_state["train.lr"]."""

    def __init__(self, area: str) -> None:
        object.__setattr__(self, "_area", area)

    def __getattr__(self, name: str) -> Any:
        try:
            return st.session_state[self._area + name]
        except KeyError:
            raise AttributeError(self._area + name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        st.session_state[self._area + name] = value

    def sync(self) -> None:
        """Mirror every declared key of the area into the URL (the end of a fragment)."""
        sync_url(self._area)


def url_state(area: str, **keys: Any) -> UrlState:
    """Declare a page's URL keys in one call and mirror the area into the URL -> the area's state by name.

    `area` ends in "." ("train."); each keyword is a short key name with its default, or with a
    `(default, choices)` pair (a tuple default is written `(default, None)`). Declarations whose default
    depends on another key's value are a second call, after the first. A control that can be emptied
    (a segmented control clicked off: None) gets its last value back before it is drawn again.
    """
    for name, spec in keys.items():
        default, choices = spec if isinstance(spec, tuple) and len(spec) == 2 else (spec, None)
        key = area + name
        if st.session_state.get(key, default) is None and default is not None:  # a control clicked off
            st.session_state[key] = st.session_state.get(_KEEP, {}).get(key, default)  # keeps its last value
        url_default(key, default, choices=choices)
    sync_url(area)
    return UrlState(area)
