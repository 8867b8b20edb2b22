"""The class leaderboard on a real SQLite file: order, limits, restart, concurrent writers, hostile names."""

import multiprocessing
import threading

import pytest

from core import leaderboard as lb
from core.errors import UserError


def entry(name="小明", acc=0.99, seconds=20.0, **kw):
    return lb.Entry(
        nickname=name,
        model=kw.get("model", "two_layer_cnn"),
        optimizer="adam",
        epochs=1,
        test_acc=acc,
        train_seconds=seconds,
        options=kw.get("options", {"dropout": 0.3}),
    )


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'board.sqlite'}"


def test_posts_come_back_best_first_and_survive_a_restart(url):
    board = lb.Leaderboard(url)
    board.post(entry("a", 0.97), "s1")
    board.post(entry("b", 0.99, 30.0), "s2")
    board.post(entry("c", 0.99, 10.0), "s3")
    restarted = lb.Leaderboard(url)  # a new server process reads the same file
    assert [e.nickname for e in restarted.top()] == ["c", "b", "a"]
    assert restarted.top()[0].options == {"dropout": 0.3}


def test_posting_is_limited_per_session(url, monkeypatch):
    monkeypatch.setenv("LEADERBOARD_POSTS", "2")
    board = lb.Leaderboard(url)
    board.post(entry(), "s1")
    board.post(entry(), "s1")
    with pytest.raises(UserError) as err:
        board.post(entry(), "s1")
    assert "2" in err.value.text("en")
    board.post(entry(), "s2")  # another student is not affected
    assert board.count() == 3


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "<b>bold</b> & ' \" ; DROP TABLE leaderboard;--",
        "🎉🧠",
        "Robert'); DROP TABLE leaderboard;--"[:24],
    ],
)
def test_hostile_nicknames_are_stored_verbatim_as_text(url, name):
    board = lb.Leaderboard(url)
    if len(name) > lb.MAX_NICKNAME:
        with pytest.raises(UserError):
            board.post(entry(name), "s")
        return
    board.post(entry(name), "s")
    assert board.top()[0].nickname == name  # stored as given; the page shows it as plain text
    assert board.count() == 1  # the table is still there


@pytest.mark.parametrize("name", ["x" * 10_000, "", "   ", "a\u0000b", "a\u202eb"])
def test_bad_nicknames_get_a_sentence(url, name):
    with pytest.raises(UserError) as err:
        lb.Leaderboard(url).post(entry(name), "s")
    assert err.value.text("zh") and err.value.text("en")


def test_accuracy_must_be_a_fraction(url):
    with pytest.raises(UserError):
        lb.Leaderboard(url).post(entry(acc=99.1), "s")


def test_clear_needs_the_lecturers_token(url, monkeypatch):
    board = lb.Leaderboard(url)
    board.post(entry(), "s")
    monkeypatch.delenv("LEADERBOARD_TOKEN", raising=False)
    with pytest.raises(UserError):
        board.clear("anything")
    monkeypatch.setenv("LEADERBOARD_TOKEN", "s3cret")
    with pytest.raises(UserError):
        board.clear("guess")
    assert board.clear("s3cret") == 1 and board.count() == 0


def test_many_threads_post_at_once(url):
    board = lb.Leaderboard(url)
    errors = []

    def post(i):
        try:
            board.post(entry(f"t{i}", 0.9 + i / 1000), f"session{i}")
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and board.count() == 24


def _server(url, prefix, n, barrier):
    board = lb.Leaderboard(url)
    barrier.wait()
    for i in range(n):
        board.post(entry(f"{prefix}{i}"), f"{prefix}-{i}")


def test_two_servers_write_at_once(url):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_server, args=(url, p, 15, barrier)) for p in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    assert lb.Leaderboard(url).count() == 30


def test_off_unless_the_host_turns_it_on(monkeypatch):
    monkeypatch.delenv("LEADERBOARD", raising=False)
    monkeypatch.delenv("LEADERBOARD_URL", raising=False)
    assert not lb.enabled()
    monkeypatch.setenv("LEADERBOARD", "1")
    assert lb.enabled()


def test_ideas_name_what_a_run_used():
    assert lb.ideas(entry(model="bn_cnn", options={"dropout": 0.5})) == [
        "bn",
        "dropout",
        "more_convs",
        "adam",
    ]
