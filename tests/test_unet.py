"""core.unet: the SD-1.5 UNet traced on the meta device, checked against the real model and diffusers."""

from __future__ import annotations

import pytest
import torch

from core import diffusion, unet
from core.errors import UserError
from core.models import count_parameters


@pytest.fixture(scope="module")
def sd15_512():
    return unet.inspect_unet(unet.SD15, height=512, width=512, batch=1, guidance=True)


@pytest.fixture(scope="module")
def sd15_768x512():
    return unet.inspect_unet(unet.SD15, height=512, width=768, batch=1, guidance=False)


@pytest.fixture(scope="module")
def tiny_pipe(tmp_path_factory):
    from diffusers import StableDiffusionImg2ImgPipeline

    from tests.tiny_sd import build_tiny_img2img

    folder = build_tiny_img2img(tmp_path_factory.mktemp("tiny_sd"))
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def by_name(rows):
    return {r.name: r for r in rows}


@pytest.mark.slow
def test_sd15_blocks_are_the_homeworks_classes(sd15_512):
    assert [(r.name, r.cls) for r in sd15_512] == [
        ("conv_in", "Conv2d"),
        ("time_embedding", "TimestepEmbedding"),
        ("down_blocks.0", "CrossAttnDownBlock2D"),
        ("down_blocks.1", "CrossAttnDownBlock2D"),
        ("down_blocks.2", "CrossAttnDownBlock2D"),
        ("down_blocks.3", "DownBlock2D"),
        ("mid_block", "UNetMidBlock2DCrossAttn"),
        ("up_blocks.0", "UpBlock2D"),
        ("up_blocks.1", "CrossAttnUpBlock2D"),
        ("up_blocks.2", "CrossAttnUpBlock2D"),
        ("up_blocks.3", "CrossAttnUpBlock2D"),
        ("conv_out", "Conv2d"),
    ]
    mid = by_name(sd15_512)["mid_block"]
    # The homework's question: the mid block is ResNet -> Transformer -> ResNet, in that order.
    assert [(p.name, p.cls) for p in mid.parts] == [
        ("resnets.0", "ResnetBlock2D"),
        ("attentions.0", "Transformer2DModel"),
        ("resnets.1", "ResnetBlock2D"),
    ]
    down0 = by_name(sd15_512)["down_blocks.0"]
    assert [p.cls for p in down0.parts] == ["ResnetBlock2D", "Transformer2DModel"] * 2 + ["Downsample2D"]
    up3 = by_name(sd15_512)["up_blocks.3"]
    assert [p.cls for p in up3.parts] == ["ResnetBlock2D", "Transformer2DModel"] * 3


@pytest.mark.slow
def test_sd15_parameter_total_matches_the_model(sd15_512):
    assert unet.total_parameters(sd15_512) == unet.SD15_PARAMETERS == 859_520_964
    assert count_parameters(unet.build_unet(unet.SD15)) == 859_520_964  # the reference: sum(p.numel())
    for row in sd15_512:
        assert sum(p.params for p in row.parts) == row.params, row.name
    by_type = unet.parameters_by_type(sd15_512)
    assert sum(by_type.values()) == 859_520_964
    assert list(by_type)[:2] == ["ResnetBlock2D", "Transformer2DModel"]


@pytest.mark.slow
def test_sd15_shapes_at_512_with_guidance(sd15_512):
    rows = by_name(sd15_512)
    assert rows["conv_in"].in_shape == (2, 4, 64, 64)  # 512 / 8 = 64; guidance doubles the batch
    assert rows["conv_in"].out_shape == (2, 320, 64, 64)
    assert rows["time_embedding"].out_shape == (2, 1280)
    assert [rows[f"down_blocks.{i}"].out_shape for i in range(4)] == [
        (2, 320, 32, 32),
        (2, 640, 16, 16),
        (2, 1280, 8, 8),
        (2, 1280, 8, 8),
    ]
    assert rows["mid_block"].out_shape == (2, 1280, 8, 8)
    assert [rows[f"up_blocks.{i}"].out_shape for i in range(4)] == [
        (2, 1280, 16, 16),
        (2, 1280, 32, 32),
        (2, 640, 64, 64),
        (2, 320, 64, 64),
    ]
    assert rows["conv_out"].out_shape == (2, 4, 64, 64)
    assert [r.level for r in sd15_512 if r.kind != "time"] == [0, 0, 1, 2, 3, 3, 3, 2, 1, 0, 0]
    heads = [(p.heads, p.head_dim) for r in sd15_512 for p in r.parts if p.cls == "Transformer2DModel"]
    assert len(heads) == 16 and set(heads) == {(8, 40), (8, 80), (8, 160)}


@pytest.mark.slow
def test_sd15_cross_attention_shapes(sd15_512):
    attention = [a for r in sd15_512 for a in r.cross_attention]
    assert len(attention) == 16  # 2 + 2 + 2 down, 1 mid, 3 + 3 + 3 up
    mid = by_name(sd15_512)["mid_block"].cross_attention[0]
    assert (mid.query_tokens, mid.key_tokens, mid.query_dim, mid.key_dim) == (8 * 8, 77, 1280, 768)
    assert mid.scores_shape == (2, 8, 64, 77)
    first = by_name(sd15_512)["down_blocks.0"].cross_attention[0]
    assert (first.query_tokens, first.heads, first.head_dim) == (64 * 64, 8, 40)
    assert all(a.key_tokens == 77 and a.key_dim == 768 for a in attention)


@pytest.mark.slow
def test_sd15_shapes_at_768x512_the_homeworks_size(sd15_768x512):
    rows = by_name(sd15_768x512)
    assert unet.latent_size(512, 768) == (64, 96)
    assert rows["conv_in"].out_shape == (1, 320, 64, 96)  # no guidance: batch stays 1
    assert rows["mid_block"].out_shape == (1, 1280, 8, 12)
    assert rows["conv_out"].out_shape == (1, 4, 64, 96)
    assert rows["up_blocks.3"].cross_attention[0].query_tokens == 64 * 96
    assert unet.total_parameters(sd15_768x512) == 859_520_964  # the size changes shapes, never weights


@pytest.mark.slow
def test_sd15_skip_pairing(sd15_512):
    skips = unet.skip_pairs(sd15_512)
    assert [s.index for s in skips] == list(range(12))
    assert (skips[0].source, skips[0].target) == ("conv_in", "up_blocks.3.resnets.2")
    assert (skips[2].source, skips[2].target) == ("down_blocks.0.attentions.1", "up_blocks.3.resnets.0")
    assert (skips[3].source, skips[3].target) == ("down_blocks.0.downsamplers.0", "up_blocks.2.resnets.2")
    assert (skips[11].source, skips[11].target) == ("down_blocks.3.resnets.1", "up_blocks.0.resnets.0")
    # Reference: each target ResNet's first convolution takes (incoming channels + skip channels).
    model = unet.build_unet(unet.SD15)
    rows = by_name(sd15_512)
    for s in skips:
        up_name, _, j = s.target.rpartition(".resnets.")
        resnet = model.get_submodule(s.target)
        incoming = rows[up_name].in_shape[1] if j == "0" else resnet.conv1.out_channels
        assert resnet.conv1.in_channels == incoming + s.shape[1], s
        assert s.shape[2] == rows[up_name].in_shape[2], s  # same resolution as the block it feeds
    assert sum(len(r.skips_out) for r in sd15_512) == 12
    assert len(rows["up_blocks.0"].skips_in) == 3


def test_tiny_config_meta_trace_matches_a_real_forward():
    rows = unet.inspect_unet(unet.TINY, height=64, width=128, batch=3, guidance=False)
    torch.manual_seed(0)
    real = unet.build_unet(unet.TINY, "cpu")  # real weights: the reference for shapes and counts
    real_rows = unet.trace_unet(real, (8, 16), batch=3)

    def summary(rs):
        return [(r.name, r.out_shape, r.params) for r in rs]

    assert summary(rows) == summary(real_rows)
    assert unet.total_parameters(rows) == count_parameters(real)
    text = torch.zeros(3, 77, 32)
    out = real(torch.zeros(3, 4, 8, 16), torch.tensor([1, 1, 1]), encoder_hidden_states=text).sample
    assert by_name(rows)["conv_out"].out_shape == tuple(out.shape)
    assert [s.source for s in unet.skip_pairs(rows)] == [
        "conv_in",
        "down_blocks.0.attentions.0",
        "down_blocks.0.attentions.1",
        "down_blocks.0.downsamplers.0",
        "down_blocks.1.resnets.0",
        "down_blocks.1.resnets.1",
    ]


def test_guidance_doubles_the_batch():
    on = unet.inspect_unet(unet.TINY, 64, 64, batch=2, guidance=True)
    off = unet.inspect_unet(unet.TINY, 64, 64, batch=2, guidance=False)
    assert on[0].out_shape[0] == 4 and off[0].out_shape[0] == 2


@pytest.mark.parametrize("height, width, batch", [(500, 512, 1), (512, 32, 1), (4096, 512, 1), (512, 512, 0)])
def test_bad_sizes_are_explained(height, width, batch):
    with pytest.raises(UserError) as err:
        unet.inspect_unet(unet.TINY, height, width, batch=batch)
    assert err.value.zh != err.value.en


def test_a_loaded_unet_is_inspected_through_its_config(tiny_pipe):
    rows = unet.inspect_unet(tiny_pipe.unet, 64, 64, batch=1, guidance=True)
    assert unet.total_parameters(rows) == count_parameters(tiny_pipe.unet)
    assert [r.cls for r in rows if r.kind in ("down", "up")] == [
        "DownBlock2D",
        "CrossAttnDownBlock2D",
        "CrossAttnUpBlock2D",
        "UpBlock2D",
    ]
    assert tiny_pipe.unet.device.type == "cpu"  # untouched: the trace ran on a meta twin


def test_encode_prompt_gives_77_tokens(tiny_pipe):
    embeddings, tokens = diffusion.encode_prompt(tiny_pipe, "a fantasy landscape")
    assert embeddings.shape == (1, 77, 32) and len(tokens) == 77
    assert tokens[0] == "<|startoftext|>" and unet.prompt_length(tokens) == 5


def test_cross_attention_maps_leave_the_output_unchanged(tiny_pipe):
    embeddings, tokens = diffusion.encode_prompt(tiny_pipe, "a mountain lake")
    model = tiny_pipe.unet
    processors = dict(model.attn_processors)
    maps = unet.cross_attention_maps(model, embeddings, tokens, 64, 64, timestep=500, seed=1)

    def kinds(procs):
        return {k: type(v) for k, v in procs.items()}

    assert kinds(model.attn_processors) == kinds(processors)  # restored
    with torch.no_grad():  # reference: the same forward with diffusers' own processors
        noise = unet._noisy_latent(model, (8, 8), 1)
        ref = model(noise, torch.tensor([500]), encoder_hidden_states=embeddings).sample
    torch.testing.assert_close(maps.output, ref, atol=1e-5, rtol=1e-4)
    assert len(maps.per_layer) == 6 and maps.mean.shape == (77, 8, 8)
    for layer in maps.per_layer.values():  # softmax over the 77 text tokens at every image position
        torch.testing.assert_close(layer.sum(0), torch.ones(layer.shape[1:]))


def test_activation_stats_match_a_direct_forward(tiny_pipe):
    embeddings, _ = diffusion.encode_prompt(tiny_pipe, "snow")
    stats = unet.activation_stats(tiny_pipe.unet, embeddings, 64, 64, timestep=999, seed=3)
    assert [s.name for s in stats] == [
        "conv_in",
        "down_blocks.0",
        "down_blocks.1",
        "mid_block",
        "up_blocks.0",
        "up_blocks.1",
        "conv_out",
    ]
    with torch.no_grad():
        out = tiny_pipe.unet(
            unet._noisy_latent(tiny_pipe.unet, (8, 8), 3),
            torch.tensor([999]),
            encoder_hidden_states=embeddings,
        ).sample
    last = stats[-1]
    assert last.shape == tuple(out.shape)
    assert last.mean == pytest.approx(out.mean().item(), abs=1e-6)
    assert last.std == pytest.approx(out.std().item(), rel=1e-5)
    assert last.min <= last.mean <= last.max


@pytest.mark.gpu
def test_cross_attention_maps_on_cuda_in_half_precision(tiny_pipe):
    """The page's GPU path: fp16 weights on CUDA (as core.diffusion.load_img2img sets them up)."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    model = tiny_pipe.unet.to("cuda", torch.float16)
    tiny_pipe.text_encoder.to("cuda", torch.float16)
    model.set_attn_processor(AttnProcessor2_0())
    try:
        embeddings, tokens = diffusion.encode_prompt(tiny_pipe, "a fantasy landscape")
        maps = unet.cross_attention_maps(model, embeddings, tokens, 64, 64, timestep=500, seed=2)
        with torch.no_grad():
            noise = unet._noisy_latent(model, (8, 8), 2)
            ref = model(noise, torch.tensor([500], device="cuda"), encoder_hidden_states=embeddings).sample
        torch.testing.assert_close(maps.output, ref.float().cpu(), atol=2e-2, rtol=2e-2)
        stats = unet.activation_stats(model, embeddings, 64, 64)
        assert all(torch.isfinite(torch.tensor([s.mean, s.std])).all() for s in stats)
    finally:
        model.to("cpu", torch.float32)
        tiny_pipe.text_encoder.to("cpu", torch.float32)


def test_encode_prompt_is_what_the_pipeline_itself_encodes(tiny_pipe):
    """One prompt encoder for both pages, checked against diffusers' own `pipe.encode_prompt`."""
    ours, _ = diffusion.encode_prompt(tiny_pipe, "a fantasy landscape")
    theirs, empty = tiny_pipe.encode_prompt("a fantasy landscape", "cpu", 1, True, "")
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(diffusion.encode_prompt(tiny_pipe, "")[0], empty)  # the unconditional prompt


def test_short_counts_fit_a_headline_and_round_the_exact_count():
    assert unet.short_count(unet.SD15_PARAMETERS) == "859.5 M"  # 859,520,964
    assert unet.short_count(97_038_080) == "97.0 M" and unet.short_count(12_800) == "12,800"
    assert unet.short_count(2_567_463_684) == "2.57 B"
    assert unet.shape_text((2, 1280, 8, 8)) == "2×1280×8×8"


def test_tables_are_the_rows_as_records(sd15_512):
    rows = by_name(sd15_512)
    blocks = unet.block_table(sd15_512)
    assert [b["block"] for b in blocks] == list(rows) and sum(b["params"] for b in blocks) == 859_520_964
    parts = unet.part_table(rows["down_blocks.0"])
    assert [p["class"] for p in parts] == ["ResnetBlock2D", "Transformer2DModel"] * 2 + ["Downsample2D"]
    assert parts[1]["heads"] == "8 × 40"
    cross = unet.cross_table(rows["mid_block"])
    assert cross == [
        {
            "where": "mid_block.attentions.0",
            "query": 64,
            "keys": 77,
            "dims": "1280 → 768",
            "heads": "8 × 160",
            "scores": "2×8×64×77",
        }
    ]
    skips = unet.skip_table(unet.skip_pairs(sd15_512))
    assert [s["index"] for s in skips] == list(range(12)) and skips[0]["source"] == "conv_in"


def test_diagram_boxes_never_overlap_and_arcs_clear_the_boxes(sd15_512):
    boxes, arcs = unet.diagram_layout(sd15_512)
    assert [b.label for b in boxes] == [
        "conv_in",
        *(f"down {i}" for i in range(4)),
        "mid",
        *(f"up {i}" for i in range(4)),
        "conv_out",
    ]
    assert [b.level for b in boxes] == [0, 0, 1, 2, 3, 3, 3, 2, 1, 0, 0]
    for left, right in zip(boxes, boxes[1:], strict=False):  # neighbours: a gap between the boxes
        assert left.x + left.half_width < right.x - right.half_width
    assert max(len(b.label) for b in boxes) <= 8 and max(len(b.size) for b in boxes) <= 5  # short labels
    assert sum(a.count for a in arcs) == 12  # every skip tensor travels along one arc
    for arc in arcs:
        top = arc.points[1][1]
        lowest_box = min(b.level for b in boxes if b.name in (arc.source, arc.target))
        assert top < lowest_box - unet.BOX_HALF_HEIGHT and top > -unet.MARGIN_TOP


def test_headline_numbers_are_the_homeworks(sd15_512):
    """The page's metrics: 859,520,964 parameters, a 64 × 64 latent, batch 2 (guidance), 77 × 768 tokens."""
    assert unet.headline(sd15_512) == {
        "params": ("859.5 M", "859,520,964"),
        "latent": "64 × 64",
        "batch": 2,
        "tokens": "77 × 768",
    }
    mid = by_name(sd15_512)["mid_block"]
    assert unet.block_numbers(mid, sd15_512) == {
        "params": ("97.0 M", "97,038,080"),
        "share": f"{100 * 97_038_080 / 859_520_964:.1f} %",  # 11.3 %
        "in": "2×1280×8×8",
        "out": "2×1280×8×8",
    }
    assert (
        unet.mid_attention(sd15_512) == mid.cross_attention[0] and mid.cross_attention[0].query_tokens == 64
    )
    topics = {r.name: unet.explain_topic(r) for r in sd15_512}
    assert topics["conv_in"] == "in" and topics["conv_out"] == "out" and topics["mid_block"] == mid.cls


def test_picking_a_block_and_its_tables(sd15_512):
    """What the inspector's diagram, selectbox and detail tables show, as data."""
    rows = by_name(sd15_512)
    assert unet.find_block(sd15_512, "up_blocks.1") is rows["up_blocks.1"]
    assert unet.find_block(sd15_512, "no_such_block") is rows["mid_block"]  # a stale link
    assert unet.block_label(rows["down_blocks.1"]) == "down_blocks.1 · CrossAttnDownBlock2D"
    assert unet.picked_block({"pick": [{"name": "mid_block", "cls": "x"}]}) == "mid_block"
    assert unet.picked_block({"pick": []}) is None and unet.picked_block({}) is None
    assert unet.has_sublayers(rows["down_blocks.0"]) and not unet.has_sublayers(rows["conv_in"])
    tables = unet.detail_tables(rows["mid_block"])
    assert list(tables) == ["cross"] and tables["cross"] == unet.cross_table(rows["mid_block"])
    assert list(unet.detail_tables(rows["conv_in"])) == ["skips.out"]  # conv_in only sends a skip
    assert list(unet.detail_tables(rows["up_blocks.3"])) == ["cross", "skips.in"]
    assert unet.size_label("768x512") == "768 × 512" and unet.parse_size(unet.size_label("768x512")) == (
        512,
        768,
    )


def test_sizes_and_config_keys():
    assert unet.parse_size("768x512") == (512, 768) and unet.parse_size("640 × 480") == (480, 640)
    key = unet.config_key({**dict(unet.SD15), "_class_name": "UNet2DConditionModel"})
    assert dict(key) == dict(unet.SD15) and hash(key) == hash(unet.config_key(unet.SD15))


def test_analyse_is_the_stats_and_maps_of_one_prompt(tiny_pipe):
    """The live tab's one core call equals its two parts run by hand."""
    records: list[dict] = []
    stats, maps = unet.analyse(tiny_pipe, "snow", 64, 999, report=records.append)
    assert [r["done"] for r in records] == [1, 2] and records[-1]["progress"] == 1.0
    assert unet.analyse(tiny_pipe, "snow", 64, 999, should_stop=lambda: True) is None  # Stop between passes
    embeddings, tokens = diffusion.encode_prompt(tiny_pipe, "snow")
    assert stats == unet.activation_stats(tiny_pipe.unet, embeddings, 64, 64, 999)
    by_hand = unet.cross_attention_maps(tiny_pipe.unet, embeddings, tokens, 64, 64, 999)
    assert maps.tokens == by_hand.tokens and torch.equal(maps.mean, by_hand.mean)
    records = unet.stats_table(stats)
    assert records[0]["name"] == "conv_in" and records[0]["shape"] == unet.shape_text(stats[0].shape)
    assert records[-1]["std"] == stats[-1].std


def test_the_diagram_changes_with_the_size_only():
    """The inspector caches the U by (UNet, size): batch and guidance must change no box."""
    from ui.diffusion_charts import unet_diagram

    small = unet_diagram(unet.inspect_unet(unet.TINY, 64, 64, batch=1, guidance=False), "mid_block", False)
    same = unet_diagram(unet.inspect_unet(unet.TINY, 64, 64, batch=3, guidance=True), "mid_block", False)
    larger = unet_diagram(unet.inspect_unet(unet.TINY, 128, 128, batch=1, guidance=False), "mid_block", False)
    assert small == same and small != larger


def test_settle_heap_freezes_today_and_still_collects_tomorrow():
    """ui.shell.settle_heap: the objects alive leave the collector's scans; garbage made later still goes."""
    import gc

    from ui.shell import settle_heap

    settle_heap()
    assert gc.get_freeze_count() > 0
    cycle: list = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
