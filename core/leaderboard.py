"""The class leaderboard for seed 002's homework ("train the highest MNIST accuracy you can").

A real database through SQLAlchemy: SQLite in a file under the cache folder by default, or any URL in
LEADERBOARD_URL (PostgreSQL for a larger deployment). Queries are built by SQLAlchemy with bound
parameters; no SQL text is ever assembled from input. The accuracy is whatever the server measured
(the caller passes the model's full-test-set accuracy), never a number a student typed.

Settings (environment): LEADERBOARD=1 turns it on (off when the app runs for one student),
LEADERBOARD_URL, LEADERBOARD_TOKEN (the lecturer's token to clear it), LEADERBOARD_POSTS (per session).

    board = Leaderboard()
    board.post(Entry(nickname="小明", model="bn_cnn", ...), session="abc")
    board.top(20)
"""

from __future__ import annotations

import hmac
import json
import os
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, String, Text, create_engine, delete, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.errors import UserError
from core.storage import cache_dir

MAX_NICKNAME = 24  # characters (an emoji counts as one)
DEFAULT_POSTS_PER_SESSION = 5


def enabled() -> bool:
    """On when LEADERBOARD=1 or a LEADERBOARD_URL is set (a hosted class); off for one student locally."""
    flag = os.environ.get("LEADERBOARD", "").strip().lower() in ("1", "true", "yes", "on")
    return flag or bool(os.environ.get("LEADERBOARD_URL"))


def database_url() -> str:
    """LEADERBOARD_URL, else SQLite in the cache folder (survives restarts, shared by servers on one host)."""
    return os.environ.get("LEADERBOARD_URL") or f"sqlite:///{cache_dir('leaderboard') / 'leaderboard.sqlite'}"


def posts_per_session() -> int:
    try:
        return max(1, int(os.environ.get("LEADERBOARD_POSTS", DEFAULT_POSTS_PER_SESSION)))
    except ValueError:
        return DEFAULT_POSTS_PER_SESSION


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "leaderboard"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nickname: Mapped[str] = mapped_column(String(4 * MAX_NICKNAME))
    model: Mapped[str] = mapped_column(String(64))
    options: Mapped[str] = mapped_column(Text)  # JSON: {"dropout": 0.3, "batch_norm": true}
    optimizer: Mapped[str] = mapped_column(String(32))
    epochs: Mapped[int] = mapped_column(Integer)
    test_acc: Mapped[float] = mapped_column(Float)
    train_seconds: Mapped[float] = mapped_column(Float)
    session: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[float] = mapped_column(Float)


@dataclass
class Entry:
    """One posted run: who, which idea, how well (accuracy on the full 10,000-image test set)."""

    nickname: str
    model: str
    optimizer: str
    epochs: int
    test_acc: float
    train_seconds: float
    options: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    id: int = 0


def clean_nickname(raw: str) -> str:
    """A nickname as it will be shown: trimmed, no control characters, at most MAX_NICKNAME characters."""
    text = " ".join((raw or "").split())
    if not text:
        raise UserError("Type a nickname first.", "请先输入昵称。")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") and c != "\u200d" for c in text):
        raise UserError("The nickname contains invisible control characters.", "昵称中含有不可见的控制字符。")
    if len(text) > MAX_NICKNAME:
        raise UserError(
            f"A nickname has at most {MAX_NICKNAME} characters; this one has {len(text)}.",
            f"昵称最多 {MAX_NICKNAME} 个字符，现在有 {len(text)} 个。",
        )
    return text


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL and a busy timeout: two servers (or many threads) write at once without 'database is locked'."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI types
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


class Leaderboard:
    """The leaderboard in the database at `url` (default: `database_url()`); tables are created once."""

    def __init__(self, url: str | None = None):
        self.url = url or database_url()
        sqlite = self.url.startswith("sqlite")
        self.engine = create_engine(
            self.url, connect_args={"timeout": 30} if sqlite else {}, pool_pre_ping=True
        )
        if sqlite:
            _sqlite_pragmas(self.engine)
        Base.metadata.create_all(self.engine)

    def post(self, entry: Entry, session: str) -> Entry:
        """Store `entry` for browser session `session` (limited to posts_per_session()); returns it stored."""
        nickname = clean_nickname(entry.nickname)
        if not 0.0 <= entry.test_acc <= 1.0:
            raise UserError("That accuracy is not a measured one.", "这个准确率不是测出来的。")
        limit = posts_per_session()
        with Session(self.engine) as db, db.begin():
            count = db.scalar(select(func.count()).select_from(Row).where(Row.session == session))
            if count >= limit:
                raise UserError(
                    f"You have posted {limit} runs from this session, the limit; "
                    "improve your best one instead.",
                    f"本会话已提交 {limit} 次，达到上限；请改进你最好的那次。",
                )
            row = Row(
                nickname=nickname,
                model=entry.model,
                options=json.dumps(entry.options, sort_keys=True),
                optimizer=entry.optimizer,
                epochs=int(entry.epochs),
                test_acc=float(entry.test_acc),
                train_seconds=float(entry.train_seconds),
                session=session,
                created=time.time(),
            )
            db.add(row)
            db.flush()
            return _entry(row)

    def top(self, n: int = 50) -> list[Entry]:
        """The best `n` runs: highest accuracy first, then the faster training, then the earlier post."""
        with Session(self.engine) as db:
            rows = db.scalars(
                select(Row).order_by(Row.test_acc.desc(), Row.train_seconds, Row.created).limit(n)
            )
            return [_entry(r) for r in rows]

    def count(self) -> int:
        with Session(self.engine) as db:
            return int(db.scalar(select(func.count()).select_from(Row)))

    def clear(self, token: str) -> int:
        """Delete every entry when `token` equals LEADERBOARD_TOKEN; returns how many were removed."""
        expected = os.environ.get("LEADERBOARD_TOKEN", "")
        if not expected:
            raise UserError(
                "Clearing is off: the host has not set LEADERBOARD_TOKEN.",
                "清空功能未开启：服务器没有设置 LEADERBOARD_TOKEN。",
            )
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise UserError("That token is not the lecturer's.", "令牌不正确。")
        with Session(self.engine) as db, db.begin():
            return db.execute(delete(Row)).rowcount or 0


def _entry(row: Row) -> Entry:
    return Entry(
        nickname=row.nickname,
        model=row.model,
        optimizer=row.optimizer,
        epochs=row.epochs,
        test_acc=row.test_acc,
        train_seconds=row.train_seconds,
        options=json.loads(row.options),
        created=row.created,
        id=row.id,
    )


def ideas(entry: Entry) -> list[str]:
    """The ideas a run used, as keys a page can translate: bn, dropout, deeper, residual, adam, schedule..."""
    found = []
    if entry.options.get("batch_norm") or entry.model in ("bn_cnn", "resnet_small"):
        found.append("bn")
    if float(entry.options.get("dropout", 0) or 0) > 0:
        found.append("dropout")
    if entry.model in ("convnet3", "bn_cnn", "resnet_small"):
        found.append("more_convs")
    if entry.model == "resnet_small":
        found.append("residual")
    if entry.optimizer in ("adam", "adamw"):
        found.append("adam")
    return found
