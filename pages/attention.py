"""Self-attention step by step: seed 001's SingleHeadSelfAttention completed, on a sentence the student
types; Q, K, V, scores, softmax and output as heatmaps; causal mask, √d scaling, 1/2/4/8 heads; checked
against F.scaled_dot_product_attention and nn.MultiheadAttention."""

import math

import numpy as np
import pandas as pd
import streamlit as st

from core.blocks import attention
from ui import charts
from ui.i18n import labeller, t
from ui.shell import explained_errors, presenter, seed, show_code, show_source, side_by_side
from ui.state import sync_url, url_default

url_default("attn.text", "我爱深度学习")
url_default("attn.mode", "char", choices=["char", "word"])
url_default("attn.dim", 8, choices=list(attention.EMBED_DIMS))
url_default("attn.heads", 2, choices=list(attention.HEADS))
url_default("attn.causal", False)
url_default("attn.scaled", True)


@st.cache_data(show_spinner=False, max_entries=64)
def run(text: str, mode: str, dim: int, heads: int, causal: bool, scaled: bool, seed: int) -> attention.Run:
    return attention.run(text, mode, dim, heads, causal, scaled, seed)


@st.cache_data(show_spinner=False)
def scaling_effect(seed: int) -> list[dict]:
    return attention.scaling_effect(seed=seed)


def settings_ui() -> None:
    st.text_input(t("attn.text"), key="attn.text", max_chars=2000, help=t("attn.text.help"))
    c1, c2 = st.columns([3, 2])
    c1.segmented_control(
        t("attn.mode"), ["char", "word"], key="attn.mode", required=True, format_func=labeller("attn.mode.")
    )
    c2.segmented_control(t("attn.heads"), list(attention.HEADS), key="attn.heads", required=True)
    c3, c4 = st.columns(2)
    c3.toggle(t("attn.causal"), key="attn.causal", help=t("attn.causal.help"))
    c4.toggle(t("attn.scaled"), key="attn.scaled", help=t("attn.scaled.help"))
    if not presenter():
        st.select_slider(t("attn.dim"), list(attention.EMBED_DIMS), key="attn.dim", help=t("attn.dim.help"))


def labels(tokens: list[str]) -> list[str]:
    """Heatmap axis labels: a repeated token gets zero-width spaces (invisible) to keep its own row."""
    seen: dict[str, int] = {}
    out = []
    for tok in tokens:
        seen[tok] = seen.get(tok, 0) + 1
        out.append(tok + "\u200b" * (seen[tok] - 1))
    return out


def grid(matrix, rows: list[str], cols: list[str], title: str, **kw) -> None:
    st.markdown(f"**{title}**")
    charts.heatmap(np.asarray(matrix), rows, cols, **kw)


def single_ui(r: attention.Run, scaled: bool) -> None:
    s, tok, d = r.single, labels(r.tokens), r.x.shape[-1]
    dims = [str(i) for i in range(d)]
    st.subheader(t("attn.single.header"))
    cq, ck, cv = st.columns(3)
    for col, name, m in ((cq, "Q = x·W_Q", s.Q), (ck, "K = x·W_K", s.K), (cv, "V = x·W_V", s.V)):
        with col:
            grid(
                m[0],
                tok,
                dims,
                name,
                scheme="redblue",
                fmt=".1f",
                col_title=t("attn.dims"),
                text=not presenter(),
            )
    left, right = st.columns(2)
    scores = s.scores[0].numpy().copy()
    scores[np.isinf(scores)] = np.nan  # masked (−∞) cells are left blank
    with left:
        grid(scores, tok, tok, t("attn.scores.scaled" if scaled else "attn.scores.raw", d=d),
             scheme="redblue", fmt=".1f", row_title=t("attn.query"), col_title=t("attn.key"))  # fmt: skip
    with right:
        grid(s.weights[0], tok, tok, t("attn.weights"), row_title=t("attn.query"), col_title=t("attn.key"))
    grid(s.out[0], tok, dims, t("attn.out"), scheme="redblue", fmt=".1f", col_title=t("attn.dims"))
    if st.session_state["attn.causal"]:
        st.caption(t("attn.causal.note"))


def multi_ui(r: attention.Run) -> None:
    m, tok = r.multi, labels(r.tokens)
    st.subheader(t("attn.multi.header", heads=m.heads))
    split = [
        {"head": h + 1, "columns": f"{h * m.head_dim} … {(h + 1) * m.head_dim - 1}", "width": m.head_dim}
        for h in range(m.heads)
    ]
    st.caption(t("attn.multi.explain", d=r.x.shape[-1], heads=m.heads, hs=m.head_dim))
    charts.table(split, "attn.")
    per_row = 2 if presenter() else 4
    for start in range(0, m.heads, per_row):
        cols = st.columns(per_row)
        for h, col in zip(range(start, min(m.heads, start + per_row)), cols, strict=False):
            with col:
                grid(
                    m.weights[0, h], tok, tok, t("attn.head.weights", h=h + 1), fmt=".2f", text=len(tok) <= 8
                )


def scaling_ui() -> None:
    st.subheader(t("attn.scaling.header"))
    st.caption(t("attn.scaling.explain"))
    rows = scaling_effect(seed())
    df = pd.DataFrame(
        [{"log2d": math.log2(r["dim"]), "max": r["max_weight"], "setting": t(f"attn.scaling.{r['scaled']}")}
         for r in rows]
    )  # fmt: skip
    charts.curves(
        df,
        "log2d",
        "max",
        "setting",
        x_title="log₂ d",
        y_title=t("attn.scaling.y"),
        y_domain=(0, 1),
        height=380,
    )
    if not presenter():
        table = [
            {"d": r["dim"], "setting": t(f"attn.scaling.{r['scaled']}"), "std": f"{r['score_std']:.2f}",
             "max": f"{r['max_weight']:.3f}"}
            for r in rows
        ]  # fmt: skip
        charts.table(table, "attn.scaling.")


def check_ui(r: attention.Run) -> None:
    st.subheader(t("attn.check.header"))
    c1, c2, c3 = side_by_side(3)  # long labels: stacked on a projector
    c1.metric(t("attn.check.sdpa"), f"{r.sdpa_max_diff:.1e}")
    c2.metric(t("attn.check.mha1"), f"{r.mha_max_diff:.1e}")
    c3.metric(t("attn.check.mhan", heads=r.multi.heads), f"{r.multi_mha_max_diff:.1e}")
    ok = max(r.sdpa_max_diff, r.mha_max_diff, r.multi_mha_max_diff) <= 1e-6
    (st.success if ok else st.error)(t("attn.check.ok" if ok else "attn.check.bad"))
    causal, scaled = st.session_state["attn.causal"], st.session_state["attn.scaled"]
    st.code(attention.torch_call(r.x.shape[-1], r.multi.heads, causal, scaled), language="python")


@st.fragment
def attention_ui() -> None:
    settings_ui()
    key = [
        st.session_state[k]
        for k in ("attn.text", "attn.mode", "attn.dim", "attn.heads", "attn.causal", "attn.scaled")
    ]
    with explained_errors():
        r = run(*key, seed())
        st.caption(t("attn.tokens", n=len(r.tokens), tokens=" | ".join(r.tokens)))
        single_ui(r, st.session_state["attn.scaled"])
        if not presenter():
            show_code(attention.SingleHeadSelfAttention.steps)
        multi_ui(r)
        check_ui(r)
    sync_url("attn.")


st.title(t("nav.attention"))
if not presenter():
    st.caption(t("attn.intro"))
attention_ui()
scaling_ui()
sync_url("attn.")
show_source(
    attention.SingleHeadSelfAttention,
    attention.MultiHeadSelfAttention,
    attention.run,
    attention.scaling_effect,
)
