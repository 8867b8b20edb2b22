"""Language model: a small GPT learns 唐诗三百首 (or English verse) live, writes, and shows where it looks.

Longer than the usual 250 lines because the issue asks for six views of one model (train, write,
attention, structure, the CNN comparison, save/load); each is a small `*_ui()` function below.
"""

import html
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from core import gpt, text
from ui import charts, jobs, weights
from ui.i18n import labeller, t
from ui.keep import tensorboard_button
from ui.shell import current_device, explained_errors, presenter, seed, show_source
from ui.state import sync_url, url_default

TEMPS = [0.2, 0.5, 0.8, 1.0, 1.2, 1.5]
TOPKS = [1, 5, 10, 20, 50, 0]  # 0: no top-k cut
LENGTHS = [50, 100, 200, 400]
JOB = "lm.job"

url_default("lm.corpus", "tang300", choices=list(text.CORPORA))
url_default("lm.recipe", "long", choices=["quick", "long"])
url_default("lm.temp", 0.8, choices=TEMPS)
url_default("lm.topk", 20, choices=TOPKS)
url_default("lm.n", 100, choices=LENGTHS)
url_default("lm.heads", "")
url_default("lm.layer", 0)
url_default("lm.head", 0)
url_default("lm.part", "model", choices=["model", "block"])


@st.cache_data(show_spinner=False, max_entries=4)
def corpus_data(name: str) -> text.Prepared:
    """The corpus, its tokenizer, the train/validation ids and the reference losses (counted, closed form)."""
    return text.prepare(name)


def finished(job: jobs.BackgroundJob) -> jobs.Said:
    """A finished training job becomes this session's model (GPT) or comparison model (CNN)."""
    kind, name, model, tok, history = job.result
    st.session_state.setdefault(f"lm.{kind}", {})[name] = (model, tok, history)
    if kind == "gpt":
        st.session_state.pop("lm.generated", None)
    said = history.summary  # the last weights may not be the lowest validation loss: then it says so
    return (
        "success",
        "lm.done.last" if kind == "gpt" and said["low_step"] != said["best"] else f"lm.done.{kind}",
        said,
    )


def curves_ui(histories: dict[str, gpt.History], bigram: float) -> None:
    """Train and validation loss of each model (dashed: validation), beside the counted bigram's."""
    df = pd.DataFrame(gpt.curve_rows(histories, (t("lm.bigram"), bigram)))
    if df.empty:
        return
    df["split"] = df.split.map(labeller("lm.split."))
    charts.curves(df, "step", "loss", "model", dash="split", x_title=t("lm.step"), y_title=t("lm.loss"))


def work(name: str, kind: str, base: gpt.GPTConfig | None) -> jobs.Work:
    """Train's click: the model of the chosen recipe (or the CNN matched to `base`) and its training run."""
    data = corpus_data(name)
    device = current_device().type
    recipe, breaks = st.session_state["lm.recipe"], data.tok.clause_breaks()
    model_cfg, train_cfg = gpt.recipe(recipe, data.tok.size, breaks, seed=seed(), device=device)
    model = gpt.build(model_cfg if kind == "gpt" else gpt.cnn_like(base or model_cfg), seed())
    st.session_state["lm._kind"] = kind.upper()
    train = partial(gpt.train, model, data.train_ids, data.val_ids, train_cfg, tokenizer=data.tok)
    return lambda report, stop: (kind, name, model, data.tok, train(report, stop))


def train_button(name: str, kind: str = "gpt", base: gpt.GPTConfig | None = None) -> None:
    """Train the GPT (or the CNN matched to `base`); the live view shows at the top of the page."""
    label = t("lm.train") if kind == "gpt" else t("lm.cnn.train")
    start = partial(work, name, kind, base)
    jobs.start_button(JOB, label, start, key=f"lm.go.{kind}", icon=":material/play_arrow:")


def draw_live(snap: dict) -> None:
    records = snap["records"]
    jobs.progress_line("lm.progress", elapsed=snap["elapsed"])(snap)  # the job's time, not the record's
    history = gpt.History(records=records)
    curves_ui(
        {st.session_state.get("lm._kind", "GPT"): history}, st.session_state.get("lm._bigram", float("nan"))
    )
    samples = [r["sample"] for r in records if "sample" in r]
    if samples:
        st.caption(t("lm.live.sample"))
        st.code(samples[-1], language=None)


def generate_ui(model: gpt.GPT, tok: text.Tokenizer, name: str) -> None:
    url_default("lm.prompt", text.PROMPTS[name])
    big = presenter()
    c1, c2 = st.columns(2)
    c1.text_input(t("lm.prompt"), key="lm.prompt", help=t("lm.prompt.help", n=model.block_size))
    if text.CORPORA[name].lang == "zh":
        c2.text_input(t("lm.heads"), key="lm.heads", max_chars=8, help=t("lm.heads.help"))
    c1, c2, c3 = st.columns(3)
    c1.select_slider(t("lm.temp"), TEMPS, key="lm.temp", help=t("lm.temp.help"))
    if not big:
        topk = {"help": t("lm.topk.help"), "format_func": lambda k: str(k) if k else t("lm.topk.all")}
        c2.select_slider(t("lm.topk"), TOPKS, key="lm.topk", **topk)
        c3.select_slider(t("lm.n"), LENGTHS, key="lm.n")
    ss, out = st.session_state, st.session_state.get("lm.generated")
    if st.button(t("lm.write"), type="primary", icon=":material/edit:", key="lm.write.go"):
        heads = ss["lm.heads"].strip() if text.CORPORA[name].lang == "zh" else ""
        with explained_errors():
            sampling = (ss["lm.n"], ss["lm.temp"], ss["lm.topk"] or None, seed(), heads)
            stream = gpt.generate(model, tok, ss["lm.prompt"], *sampling)
            box, written = st.empty(), ""
            for piece in stream:  # streamed: one character at a time, as the model writes it
                written += piece
                poem(box, written)
            out = st.session_state["lm.generated"] = written
    elif out:
        poem(st.empty(), out)
    if out and text.CORPORA[name].lang == "zh":
        share, lines = text.rhythm_share(out)
        if lines:
            st.caption(t("lm.rhythm", share=share, lines=lines))


def poem(box, written: str) -> None:
    """The written text with its line breaks, large enough to read from the back of the room."""
    lines = "<br>".join(html.escape(line) for line in written.split("\n"))
    size = 1.8 if presenter() else 1.35
    box.markdown(f'<div style="font-size:{size}rem;line-height:1.7">{lines}</div>', unsafe_allow_html=True)


def attention_ui(model: gpt.GPT, tok: text.Tokenizer) -> None:
    written = st.session_state.get("lm.generated") or st.session_state.get("lm.prompt", "")
    ids = gpt.context_window(tok.encode(written, strict=False), model.block_size, tok.index.get("\n"))
    if len(ids) < 2:
        st.info(t("lm.att.none"))
        return
    chars = [tok.chars[i] for i in ids]
    shown = [c.replace("\n", "↵") for c in chars]
    maps = gpt.attention_maps(model, ids)  # (L, H, T, T)
    st.caption(t("lm.att.explain", n=len(ids)))
    L, H = maps.shape[:2]
    for layer in range(L):
        for head, col in enumerate(st.columns(H)):
            caption = t("lm.att.lh", l=layer + 1, h=head + 1)
            col.image(gpt.attention_picture(maps[layer, head], 4), caption=caption)
    st.session_state["lm.layer"] = min(max(0, st.session_state["lm.layer"] or 0), L - 1)
    st.session_state["lm.head"] = min(max(0, st.session_state["lm.head"] or 0), H - 1)
    c1, c2 = st.columns(2)
    c1.segmented_control(t("lm.att.layer"), list(range(L)), key="lm.layer", format_func=lambda i: str(i + 1))
    c2.segmented_control(t("lm.att.head"), list(range(H)), key="lm.head", format_func=lambda i: str(i + 1))
    layer, head = st.session_state["lm.layer"] or 0, st.session_state["lm.head"] or 0
    labels = [f"{i + 1}:{c}" for i, c in enumerate(shown)]
    weights = maps[layer, head].numpy().copy()
    weights[np.triu_indices(len(ids), 1)] = np.nan  # the causal mask: the future is blank
    titles = {"row_title": t("lm.att.rows"), "col_title": t("lm.att.cols")}
    charts.heatmap(weights, labels, labels, text=False, height=420, **titles)
    pick = {"format_func": lambda i: shown[i], "key": "lm.pos", "default": len(ids) - 1}
    pos = st.pills(t("lm.att.pick"), list(range(len(ids))), **pick)
    if pos is not None:
        st.markdown(t("lm.att.looked", c=shown[pos], l=layer + 1, h=head + 1))
        row = maps[layer, head, pos]
        spans = "".join(
            f'<span style="background:rgba(8,48,107,{float(row[j]) / float(row.max()):.2f});'
            f'color:{"white" if row[j] > row.max() / 2 else "black"};padding:2px 1px;font-size:1.5rem">'
            f"{html.escape(shown[j])}</span>"
            if j <= pos
            else f'<span style="color:#bbb;font-size:1.5rem">{html.escape(shown[j])}</span>'
            for j in range(len(ids))
        )
        box = f'<div style="line-height:2.3;overflow-wrap:anywhere">{spans}</div>'
        st.markdown(box, unsafe_allow_html=True)


def structure_ui(model: gpt.GPT) -> None:
    how = labeller("lm.part.")
    st.radio(t("lm.part"), ["model", "block"], key="lm.part", horizontal=True, format_func=how)
    st.graphviz_chart(gpt.graph_dot(model, st.session_state["lm.part"]))
    st.caption(t("lm.params", n=gpt.count_parameters(model)))
    charts.table(gpt.parameter_table(model), "lm.col.")


def cnn_ui(name: str, model: gpt.GPT, data: text.Prepared) -> None:
    """The seed's question: a causal CNN with as many parameters, trained the same way, against the GPT."""
    st.caption(t("lm.cnn.explain"))
    found = st.session_state.get("lm.cnn", {}).get(name)
    cnn_cfg = found[0].config if found else gpt.cnn_like(model.config)
    sizes = (
        f"{gpt.count_parameters(model):,} / {gpt.size_of(cnn_cfg):,}"  # never built: a job may be training
    )
    c1, c2, c3 = st.columns(3)
    c1.metric(t("lm.cnn.params"), sizes)
    c2.metric(t("lm.cnn.span"), model.block_size)
    c3.metric(t("lm.cnn.rf"), cnn_cfg.receptive_field)
    train_button(name, "cnn", model.config)
    if not found:
        return
    cnn, _, cnn_history = found
    if cnn.block_size != model.block_size:  # a GPT trained with another recipe since: compare like with like
        st.info(t("lm.cnn.stale"))
        return
    curves_ui({"GPT": st.session_state["lm.gpt"][name][2], "CNN": cnn_history}, data.refs["bigram"])
    st.markdown(t("lm.cnn.bypos", rf=cnn_cfg.receptive_field))
    by_pos = gpt.position_rows({"GPT": model, "CNN": cnn}, data.val_ids, newline=data.tok.index.get("\n"))
    titles = {"x_title": t("lm.cnn.context"), "y_title": t("lm.loss")}
    charts.curves(pd.DataFrame(by_pos), "context", "loss", "model", **titles)


def load(blob: bytes) -> jobs.Said:
    """An uploaded model (core.gpt.load never unpickles) becomes this session's GPT or CNN for its corpus."""
    loaded, loaded_tok, meta = gpt.load(blob)
    corpus_name = meta.get("corpus") if meta.get("corpus") in text.CORPORA else st.session_state["lm.corpus"]
    kind = "gpt" if isinstance(loaded, gpt.GPT) else "cnn"
    st.session_state.setdefault(f"lm.{kind}", {})[corpus_name] = (loaded, loaded_tok, gpt.History())
    st.session_state.pop("lm.generated", None)
    return (
        "success",
        "lm.loaded",
        {"kind": kind.upper(), "n": gpt.count_parameters(loaded), "corpus": corpus_name},
    )


def corpus_changed() -> None:
    st.session_state["lm.prompt"] = text.PROMPTS.get(st.session_state.get("lm.corpus"), "")
    st.session_state.pop("lm.generated", None)


# --- the page ------------------------------------------------------------------------------------

jobs.harvest(JOB, finished)
st.title(t("nav.lm"))
if not presenter():
    st.caption(t("lm.intro"))
pick = {"format_func": labeller("lm.corpus."), "on_change": corpus_changed}
st.segmented_control(t("lm.corpus"), list(text.CORPORA), key="lm.corpus", **pick)
if st.session_state.get("lm.corpus") not in text.CORPORA:  # a segmented control can be clicked off
    st.session_state["lm.corpus"] = "tang300"
name = st.session_state["lm.corpus"]
data = None
with explained_errors():
    data = corpus_data(name)
if data is None:
    sync_url("lm.")
    st.stop()
st.session_state["lm._bigram"] = data.refs["bigram"]
st.caption(t("lm.source", **data.facts))
if not presenter():
    recipe = {"format_func": labeller("lm.recipe."), "help": t("lm.recipe.help"), "horizontal": True}
    st.radio(t("lm.recipe"), ["quick", "long"], key="lm.recipe", **recipe)
train_button(name)
jobs.live_panel(JOB, draw_live)  # Stop and the live curves of the GPT's (or the CNN's) run, then "Done …"
found = st.session_state.get("lm.gpt", {}).get(name)
if found is None:
    st.info(t("lm.none", bigram=data.refs["bigram"], uniform=data.refs["uniform"]))
else:
    model, tok, history = found
    if history.evals:
        curves_ui({"GPT": history}, data.refs["bigram"])
        tensorboard_button(f"gpt_{name}", history.records, {"corpus": name, **vars(model.config)}, "lm")
    # Only the open tab runs (on_change="rerun" + .open): attention maps, the fx trace and the CNN cost time.
    labels = [t(f"lm.tab.{k}") for k in ("write", "attention", "structure", "cnn")]
    tabs = st.tabs(labels, key="lm.tab", on_change="rerun")
    views = (
        lambda: generate_ui(model, tok, name),
        lambda: attention_ui(model, tok),
        lambda: structure_ui(model),
        lambda: cnn_ui(name, model, data),
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open:
            with tab, explained_errors():
                view()
saved = (gpt.save(found[0], found[1], {"corpus": name}), f"gpt_{name}.safetensors") if found else None
weights.expander("lm", saved, load)
sync_url("lm.")
show_source(gpt.CausalSelfAttention, gpt.Block, gpt.GPT, gpt.train, gpt.generate, gpt.CharCNN, text.Tokenizer)
jobs.watch_all()
