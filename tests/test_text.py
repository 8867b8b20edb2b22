"""core/text: the Debian corpora, the tokenizer, the bigram baseline and the 5/7 rhythm check."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from core import text
from core.errors import UserError


@pytest.mark.parametrize("name", list(text.CORPORA))
def test_tokenizer_round_trips_every_character_of_the_corpus(name):
    corpus = text.load(name)
    tok = text.Tokenizer.from_text(corpus.text)
    ids = tok.encode(corpus.text)
    assert tok.decode(ids) == corpus.text
    assert set(tok.chars[1:]) == set(corpus.text) and 0 not in ids  # id 0 is only for unknown characters


def test_tang300_is_clean_and_whole():
    corpus = text.load("tang300")
    assert len(corpus.poems) == 313  # 唐诗三百首 as Debian ships it
    assert "\x1b" not in corpus.text and "[m" not in corpus.text  # the colour escapes are gone
    first = corpus.poems[0].split("\n")
    assert first[:3] == ["《感遇・其一》", "作者：张九龄", "兰叶春葳蕤，桂华秋皎洁。"]


def test_unknown_characters_are_named():
    tok = text.Tokenizer.from_text("床前明月光")
    with pytest.raises(UserError) as err:
        tok.encode("明月☃光x")
    assert "☃x" in err.value.en and "☃x" in err.value.zh
    assert tok.encode("明月☃", strict=False)[-1] == 0


def test_split_keeps_whole_poems_apart():
    corpus = text.load("tang300")
    tok = text.Tokenizer.from_text(corpus.text)
    train, val = text.split(corpus, tok)
    verses = "\n".join(text.verse_lines(corpus.poems[9]))  # the verse lines, without title and author
    assert tok.decode(val).startswith(verses)  # every tenth poem is for validation
    assert verses not in tok.decode(train) and "作者" not in tok.decode(train)
    assert abs(len(val) / (len(train) + len(val)) - 0.1) < 0.03


def test_bigram_loss_equals_the_cross_entropy_of_the_counted_table():
    train = torch.tensor([1, 2, 1, 2, 3, 1, 2, 2])
    val = torch.tensor([1, 2, 3, 1])
    V, alpha = 4, 0.1
    counts = torch.full((V, V), alpha)
    for a, b in zip(train[:-1], train[1:], strict=True):
        counts[a, b] += 1
    logits = counts.log()  # softmax(log counts) = counts / row sum
    expected = F.cross_entropy(logits[val[:-1]], val[1:]).item()
    assert text.bigram_loss(train, val, V, alpha) == pytest.approx(expected, rel=1e-6)
    assert text.uniform_loss(V) == pytest.approx(math.log(4))


def test_rhythm_counts_five_and_seven_character_lines():
    poem = (
        "《静夜思》\n作者：李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n"
        "两个黄鹂鸣翠柳，一行白鹭上青天。\n春眠不觉晓处处闻啼鸟。\n"
    )
    assert text.verse_lines(poem)[0] == "床前明月光，疑是地上霜。"
    assert text.rhythm_share(poem) == (0.75, 4)  # the last line has 10 characters in one clause
    assert text.has_rhythm("两个黄鹂鸣翠柳，一行白鹭上青天。")
    assert not text.has_rhythm("床前明月光，一行白鹭上青天。")  # 5 then 7: no regular rhythm


def test_the_corpus_itself_mostly_has_the_rhythm():
    share, lines = text.rhythm_share(text.load("tang300").text)
    assert lines > 1500 and share > 0.9  # the reference the generated poems are measured against


def test_a_missing_package_gets_a_sentence_naming_it(monkeypatch, tmp_path):
    monkeypatch.setattr(text, "FORTUNES", tmp_path)
    for name, package in (("tang300", "fortunes-zh"), ("verse", "fortunes")):
        with pytest.raises(UserError) as err:
            text.load(name)
        assert f"apt-get install {package}" in err.value.en and package in err.value.zh


def test_parse_strips_colour_codes_and_splits_entries():
    raw = (
        "\x1b[32m《题》\x1b[m\n\x1b[33m作者：某\x1b[m\n白日依山尽，黄河入海流。\n%\n\n%\nsecond\n\n line\n%\n"
    )
    assert text.parse(raw) == ("《题》\n作者：某\n白日依山尽，黄河入海流。", "second\nline")


def test_prepare_gives_the_split_the_references_and_the_facts_the_page_shows():
    ready = text.prepare("tang300")
    train_ids, val_ids = text.split(ready.corpus, ready.tok)
    assert torch.equal(ready.train_ids, train_ids) and torch.equal(ready.val_ids, val_ids)
    assert ready.refs["uniform"] == pytest.approx(math.log(ready.tok.size))
    assert ready.refs["bigram"] == text.bigram_loss(train_ids, val_ids, ready.tok.size)
    assert max(ready.refs["bigram"], ready.refs["unigram"]) < ready.refs["uniform"]  # counting helps
    facts = ready.facts
    assert (
        facts["vocab"] == ready.tok.size and facts["train"] == len(train_ids) and facts["val"] == len(val_ids)
    )
    assert facts["package"] == "fortunes-zh" and facts["poems"] == len(ready.corpus.poems)
