"""Language model: a small GPT learns 唐诗三百首 (or English verse) live, writes, and shows where it looks.

Longer than the usual 250 lines because the issue asks for six views of one model (train, write,
attention, structure, the CNN comparison, save/load); each is a small `*_ui()` function below.
"""

import html

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core import gpt, text
from ui import charts, jobs
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
def corpus_data(name: str) -> tuple[text.Corpus, text.Tokenizer, torch.Tensor, torch.Tensor, dict]:
    """The corpus, its tokenizer, the train/validation ids and the reference losses (counted, closed form)."""
    corpus = text.load(name)
    tok = text.Tokenizer.from_text(corpus.text)
    train_ids, val_ids = text.split(corpus, tok)
    refs = {
        "bigram": text.bigram_loss(train_ids, val_ids, tok.size),
        "unigram": text.unigram_loss(train_ids, val_ids, tok.size),
        "uniform": text.uniform_loss(tok.size),
        "rhythm": text.rhythm_share(corpus.text)[0],
    }
    return corpus, tok, train_ids, val_ids, refs


def keep_finished_job() -> None:
    """A finished training job becomes this session's model (GPT) or comparison model (CNN)."""
    job = jobs.harvest(JOB)
    if job is None or job.status not in ("done", "stopped") or job.result is None:
        return
    kind, name, model, tok, history = job.result
    st.session_state.setdefault(f"lm.{kind}", {})[name] = (model, tok, history)
    if kind == "gpt":
        st.session_state.pop("lm.generated", None)
    low = min(history.evals, key=lambda r: r["val_loss"], default={"val_loss": history.val_loss, "step": 0})
    done = "lm.done.last" if kind == "gpt" and low["step"] != history.best_step else f"lm.done.{kind}"
    jobs.outcome(
        JOB,
        "success",
        done,
        steps=history.steps,
        s=history.seconds,
        val=history.val_loss,
        best=history.best_step,
        low=low["val_loss"],
        low_step=low["step"],
    )


def loss_frame(history: gpt.History, model_name: str) -> pd.DataFrame:
    rows = [
        {"step": r["step"], "loss": r[f"{split}_loss"], "model": model_name, "split": t(f"lm.split.{split}")}
        for r in history.evals
        for split in ("train", "val")
    ]
    return pd.DataFrame(rows)


def curves_ui(frames: list[pd.DataFrame], bigram: float) -> None:
    df = pd.concat([f for f in frames if not f.empty] or [pd.DataFrame()])
    if df.empty:
        return
    ref = pd.DataFrame({"step": [df["step"].min(), df["step"].max()], "loss": [bigram] * 2})
    ref["model"], ref["split"] = t("lm.bigram"), t("lm.split.val")
    charts.curves(
        pd.concat([df, ref]),
        "step",
        "loss",
        "model",
        dash="split",
        x_title=t("lm.step"),
        y_title=t("lm.loss"),
    )


def train_ui(name: str, kind: str = "gpt", base: gpt.GPTConfig | None = None) -> None:
    """Recipe and Train button (GPT), or the CNN matched to `base`; the live view is drawn by jobs.watch."""
    if kind == "gpt" and not presenter():
        st.radio(
            t("lm.recipe"),
            ["quick", "long"],
            key="lm.recipe",
            horizontal=True,
            format_func=labeller("lm.recipe."),
            help=t("lm.recipe.help"),
        )
    label = t("lm.train") if kind == "gpt" else t("lm.cnn.train")
    if st.button(
        label, type="primary", disabled=jobs.busy(), key=f"lm.go.{kind}", icon=":material/play_arrow:"
    ):
        corpus, tok, train_ids, val_ids, _ = corpus_data(name)
        model_cfg, train_cfg = gpt.recipe(
            st.session_state["lm.recipe"],
            tok.size,
            tok.clause_breaks(),
            seed=seed(),
            device=current_device().type,
        )
        model = gpt.build(model_cfg if kind == "gpt" else gpt.cnn_like(base or model_cfg), seed())
        st.session_state["lm._kind"] = kind.upper()
        jobs.start(
            JOB,
            lambda report, stop: (
                kind,
                name,
                model,
                tok,
                gpt.train(model, train_ids, val_ids, train_cfg, report, stop, tokenizer=tok),
            ),
            current_device(),
        )


def draw_live(snap: dict) -> None:
    records = snap["records"]
    last = records[-1]
    jobs.progress_bar(snap, t("lm.progress", step=last["step"], loss=last["loss"], s=snap["elapsed"]))
    history = gpt.History(records=records)
    curves_ui(
        [loss_frame(history, st.session_state.get("lm._kind", "GPT"))],
        st.session_state.get("lm._bigram", float("nan")),
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
        c2.select_slider(
            t("lm.topk"),
            TOPKS,
            key="lm.topk",
            help=t("lm.topk.help"),
            format_func=lambda k: str(k) if k else t("lm.topk.all"),
        )
        c3.select_slider(t("lm.n"), LENGTHS, key="lm.n")
    out = st.session_state.get("lm.generated")
    if st.button(t("lm.write"), type="primary", icon=":material/edit:", key="lm.write.go"):
        heads = st.session_state["lm.heads"].strip() if text.CORPORA[name].lang == "zh" else ""
        with explained_errors():
            stream = gpt.generate(
                model,
                tok,
                st.session_state["lm.prompt"],
                st.session_state["lm.n"],
                st.session_state["lm.temp"],
                st.session_state["lm.topk"] or None,
                seed(),
                heads,
            )
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
        cols = st.columns(H)
        for head, col in enumerate(cols):
            col.image(
                gpt.attention_picture(maps[layer, head], 4), caption=t("lm.att.lh", l=layer + 1, h=head + 1)
            )
    st.session_state["lm.layer"] = min(max(0, st.session_state["lm.layer"] or 0), L - 1)
    st.session_state["lm.head"] = min(max(0, st.session_state["lm.head"] or 0), H - 1)
    c1, c2 = st.columns(2)
    c1.segmented_control(t("lm.att.layer"), list(range(L)), key="lm.layer", format_func=lambda i: str(i + 1))
    c2.segmented_control(t("lm.att.head"), list(range(H)), key="lm.head", format_func=lambda i: str(i + 1))
    layer, head = st.session_state["lm.layer"] or 0, st.session_state["lm.head"] or 0
    labels = [f"{i + 1}:{c}" for i, c in enumerate(shown)]
    weights = maps[layer, head].numpy().copy()
    weights[np.triu_indices(len(ids), 1)] = np.nan  # the causal mask: the future is blank
    charts.heatmap(
        weights,
        labels,
        labels,
        row_title=t("lm.att.rows"),
        col_title=t("lm.att.cols"),
        text=False,
        height=420,
    )
    pos = st.pills(
        t("lm.att.pick"),
        list(range(len(ids))),
        format_func=lambda i: shown[i],
        key="lm.pos",
        default=len(ids) - 1,
    )
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
        st.markdown(
            f'<div style="line-height:2.3;overflow-wrap:anywhere">{spans}</div>', unsafe_allow_html=True
        )


def structure_ui(model: gpt.GPT) -> None:
    st.radio(
        t("lm.part"), ["model", "block"], key="lm.part", horizontal=True, format_func=labeller("lm.part.")
    )
    st.graphviz_chart(gpt.graph_dot(model, st.session_state["lm.part"]))
    rows = gpt.parameter_table(model)
    st.caption(t("lm.params", n=gpt.count_parameters(model)))
    st.dataframe(
        pd.DataFrame(rows).rename(columns={k: t(f"lm.col.{k}") for k in rows[0]}),
        hide_index=True,
        width="stretch",
    )


def cnn_ui(name: str, model: gpt.GPT, tok: text.Tokenizer, refs: dict, val_ids: torch.Tensor) -> None:
    """The seed's question: a causal CNN with as many parameters, trained the same way, against the GPT."""
    st.caption(t("lm.cnn.explain"))
    found = st.session_state.get("lm.cnn", {}).get(name)
    cnn_cfg = found[0].config if found else gpt.cnn_like(model.config)
    c1, c2, c3 = st.columns(3)
    c1.metric(
        t("lm.cnn.params"),
        f"{gpt.count_parameters(model):,} / {gpt.count_parameters(gpt.CharCNN(cnn_cfg)):,}",
    )
    c2.metric(t("lm.cnn.span"), model.block_size)
    c3.metric(t("lm.cnn.rf"), cnn_cfg.receptive_field)
    train_ui(name, "cnn", model.config)
    if not found:
        return
    cnn, _, cnn_history = found
    gpt_history = st.session_state["lm.gpt"][name][2]
    if cnn.block_size != model.block_size:  # a GPT trained with another recipe since: compare like with like
        st.info(t("lm.cnn.stale"))
        return
    curves_ui([loss_frame(gpt_history, "GPT"), loss_frame(cnn_history, "CNN")], refs["bigram"])
    by_pos = pd.concat(
        [
            pd.DataFrame(
                {
                    "context": range(1, m.block_size + 1),
                    "loss": gpt.loss_by_position(m, val_ids, newline=tok.index.get("\n")).numpy(),
                    "model": label,
                    "split": t("lm.split.val"),
                }
            )
            for m, label in ((model, "GPT"), (cnn, "CNN"))
        ]
    )
    st.markdown(t("lm.cnn.bypos", rf=cnn_cfg.receptive_field))
    charts.curves(by_pos, "context", "loss", "model", x_title=t("lm.cnn.context"), y_title=t("lm.loss"))


def save_ui(found: tuple | None, name: str) -> None:
    """Download this session's GPT as safetensors; upload one (never unpickled: core.gpt.load checks it)."""
    c1, c2 = st.columns(2)
    if found is not None:
        c1.download_button(
            t("lm.save"),
            gpt.save(found[0], found[1], {"corpus": name}),
            file_name=f"gpt_{name}.safetensors",
            mime="application/octet-stream",
            icon=":material/download:",
            key="lm.save.go",
        )
    upload = c2.file_uploader(t("lm.load"), type=None, key="lm.upload", help=t("lm.load.help"))
    if upload is None or st.session_state.get("lm._loaded") == upload.file_id:
        return
    with explained_errors():
        loaded, loaded_tok, meta = gpt.load(upload.getvalue())
        corpus_name = meta.get("corpus") if meta.get("corpus") in text.CORPORA else name
        kind = "gpt" if isinstance(loaded, gpt.GPT) else "cnn"
        st.session_state.setdefault(f"lm.{kind}", {})[corpus_name] = (loaded, loaded_tok, gpt.History())
        st.session_state["lm._loaded"] = upload.file_id
        st.session_state.pop("lm.generated", None)
        jobs.outcome(
            JOB, "success", "lm.loaded", kind=kind.upper(), n=gpt.count_parameters(loaded), corpus=corpus_name
        )
        st.rerun()


def corpus_changed() -> None:
    st.session_state["lm.prompt"] = text.PROMPTS.get(st.session_state.get("lm.corpus"), "")
    st.session_state.pop("lm.generated", None)


# --- the page ------------------------------------------------------------------------------------

keep_finished_job()
st.title(t("nav.lm"))
if not presenter():
    st.caption(t("lm.intro"))
st.segmented_control(
    t("lm.corpus"),
    list(text.CORPORA),
    key="lm.corpus",
    format_func=labeller("lm.corpus."),
    on_change=corpus_changed,
)
if st.session_state.get("lm.corpus") not in text.CORPORA:  # a segmented control can be clicked off
    st.session_state["lm.corpus"] = "tang300"
name = st.session_state["lm.corpus"]
data = None
with explained_errors():
    data = corpus_data(name)
if data is None:
    sync_url("lm.")
    st.stop()
corpus, tok, train_ids, val_ids, refs = data
st.session_state["lm._bigram"] = refs["bigram"]
info = text.CORPORA[name]
st.caption(
    t(
        "lm.source",
        file=corpus.source,
        package=info.package,
        licence=info.licence,
        poems=len(corpus.poems),
        chars=len(corpus.text),
        vocab=tok.size,
        train=len(train_ids),
        val=len(val_ids),
    )
)

live = st.container()
with live:
    train_ui(name)
jobs.show_outcome(JOB)
found = st.session_state.get("lm.gpt", {}).get(name)
if found is None:
    st.info(t("lm.none", bigram=refs["bigram"], uniform=refs["uniform"]))
else:
    model, tok, history = found
    if history.evals:
        curves_ui([loss_frame(history, "GPT")], refs["bigram"])
        tensorboard_button(f"gpt_{name}", history.records, {"corpus": name, **vars(model.config)}, "lm")
    # Only the open tab runs (on_change="rerun" + .open): attention maps, the fx trace and the CNN cost time.
    labels = [t(f"lm.tab.{k}") for k in ("write", "attention", "structure", "cnn")]
    tabs = st.tabs(labels, key="lm.tab", on_change="rerun")
    views = (
        lambda: generate_ui(model, tok, name),
        lambda: attention_ui(model, tok),
        lambda: structure_ui(model),
        lambda: cnn_ui(name, model, tok, refs, val_ids),
    )
    for tab, view in zip(tabs, views, strict=True):
        if tab.open:
            with tab, explained_errors():
                view()
with st.expander(t("lm.tab.save")):
    save_ui(found, name)
sync_url("lm.")
show_source(gpt.CausalSelfAttention, gpt.Block, gpt.GPT, gpt.train, gpt.generate, gpt.CharCNN, text.Tokenizer)
jobs.watch(JOB, live, draw_live)
