"""Database plumbing: the declarative Base, engine construction and transaction scopes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, MetaData, event, select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from edgedock import outages

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, whatever the backend stores.

    SQLite keeps no zone, so values come back naive; they were written as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class CreatedAt:
    """Mixin for the creation timestamp every resource shows."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


READ_ONLY = "edgedock_read_only"
STRICT = "strict"

CommitHook = Callable[[AsyncSession], Awaitable[None]]


def async_url(url: str) -> str:
    """Map the plain URL forms people know onto the async drivers edgedock uses underneath."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # hide_parameters: statement parameters are user input and never belong in a log line.
    engine = create_async_engine(async_url(url), hide_parameters=True, **kwargs)

    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    else:
        outages.drop_broken_connections(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take it over, as
    # SQLAlchemy's documentation recommends, and turn on the foreign keys SQLite leaves off.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # IMMEDIATE takes the write lock up front. With a deferred BEGIN, two transactions that
    # both read and then write deadlock, and SQLite fails one at once with "database is
    # locked" instead of waiting; serialising writers is the price of the embedded database.
    # A strict snapshot also turns on query_only, which stays with the connection until the
    # next unit of work on it turns it off again.
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql(f"PRAGMA query_only = {'ON' if readonly == STRICT else 'OFF'}")
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class TenantOwned(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def tenant_id(self) -> uuid.UUID: ...


Owned = TypeVar("Owned", bound=TenantOwned)


async def find_owned(
    session: AsyncSession, model: type[Owned], *, tenant_id: uuid.UUID, row_id: uuid.UUID
) -> Owned | None:
    """The row when it exists and is the tenant's: another tenant's id is as absent as none."""
    row = await session.get(model, row_id)
    return row if row is not None and row.tenant_id == tenant_id else None


async def lock_owned(
    session: AsyncSession, model: type[Owned], *, tenant_id: uuid.UUID, row_id: uuid.UUID
) -> Owned | None:
    """`find_owned`, with the row locked for update until the transaction ends.

    Every delete and every change of a row starts here. On PostgreSQL two concurrent deletes
    would otherwise both find the row and both answer 204 (and audit it twice); with the lock
    the second waits, then finds nothing: 404. Writers that need the row to stay (a deploy to a
    device, a release naming credentials) hold `lock_shared` on it, so a delete waits for them
    and then sees what they wrote, or they wait for the delete and find the row gone. SQLite
    renders no FOR UPDATE: its writer queue already runs one transaction at a time.
    """
    stmt = (
        select(model)
        .where(model.id == row_id)  # type: ignore[arg-type]
        .with_for_update()
        # A copy already in the session would hide what the lock waited for.
        .execution_options(populate_existing=True)
    )
    row: Owned | None = await session.scalar(stmt)
    return row if row is not None and row.tenant_id == tenant_id else None


async def lock_shared(
    session: AsyncSession, model: type[Base], ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Keep rows from being deleted until the transaction ends; returns the ids that still exist.

    FOR KEY SHARE, the lock a foreign key takes itself: it conflicts only with a delete (or a key
    change), not with other sharers or plain updates (a key rotation re-sealing credentials).
    Taken in id order, so that two transactions locking overlapping sets cannot deadlock.
    Callers take their locks parent first (application, release, device), as deletes do.
    """
    if not ids:
        return set()
    column = model.__table__.c.id
    stmt = (
        select(column)
        .where(column.in_(list(ids)))
        .order_by(column)
        .with_for_update(read=True, key_share=True)
    )
    return set((await session.scalars(stmt)).all())


async def lock_for_update(
    session: AsyncSession, model: type[Base], ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """`lock_shared`, but writers of the same rows wait for each other: FOR NO KEY UPDATE.

    For writes that read the rows' children and then change them (folding a repeated event
    into the newest one): two transactions must not both read the same newest row. A foreign
    key's own KEY SHARE lock still passes, so inserts of children do not wait.
    """
    if not ids:
        return set()
    column = model.__table__.c.id
    stmt = (
        select(column).where(column.in_(list(ids))).order_by(column).with_for_update(key_share=True)
    )
    return set((await session.scalars(stmt)).all())


async def insert_unique(session: AsyncSession, row: Base, *, duplicate: Exception) -> None:
    """Insert `row`, raising `duplicate` when a unique constraint refuses it.

    Callers check for duplicates first to answer with a clear error; two concurrent requests
    can both pass that check, and then the constraint decides. The row is added inside the
    savepoint because begin_nested() flushes pending rows first, and a violation there would
    break the request's whole transaction instead of answering 409.
    """
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError as exc:
        raise duplicate from exc


@dataclass
class Database:
    """An engine and the session factory bound to it; tests bind the factory to a savepoint."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # On for a server's own SQLite database (see _queue); tests that run every session inside
    # one outer transaction construct a Database without it.
    queue_transactions: bool = False
    # At most this many units of work hold a connection at once; the rest wait their turn
    # here instead of in the pool, whose 30 s timeout would turn a thousand devices woken
    # together into errors. SQLAlchemy's default pool holds 5 + 10.
    max_concurrent: int = 15
    # Snapshots refuse writes (SET TRANSACTION READ ONLY, PRAGMA query_only). Off for the test
    # fixture whose sessions are savepoints of one outer transaction: there the setting would
    # outlive the snapshot and make the outer transaction read-only.
    enforce_read_only: bool = False
    # Run inside every unit of work that ends normally, just before its commit (the desired-state
    # projection is refreshed here, in the transaction of the change), and after the commit.
    before_commit: list[CommitHook] = field(default_factory=list)
    after_commit: list[CommitHook] = field(default_factory=list)
    # How long a unit of work waits for its turn (the writers' queue and a slot) before it
    # answers 503: long enough for any fan-out a healthy database serves in well under a
    # second, short enough that an outage, which holds every slot until its deadlines end,
    # does not keep clients waiting past their own time-outs. None waits forever.
    turn_timeout: float | None = None
    _turn: asyncio.Lock | None = field(default=None, init=False, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    @classmethod
    def connect(
        cls, url: str, *, timeout: float = outages.DEFAULT_TIMEOUT, max_concurrent: int = 15
    ) -> Database:
        options = outages.deadline_options(url, timeout=timeout)
        # The pool keeps as many connections as units of work may run at once: with the
        # default 5 (+10 overflow) every connection past the fifth was opened and closed again
        # around each unit of work (on SQLite a new thread each time), a connection set-up per
        # request under load.
        if make_url(url).database not in (
            None,
            "",
            ":memory:",
        ):  # an in-memory one is one connection
            options.update(pool_size=max_concurrent, max_overflow=0)
        engine = make_engine(url, **options)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        return cls(
            engine,
            sessions,
            queue_transactions=engine.dialect.name == "sqlite",
            max_concurrent=max_concurrent,
            enforce_read_only=True,
            turn_timeout=2 * timeout,
        )

    def _queue(self) -> contextlib.AbstractAsyncContextManager[object]:
        """SQLite takes one writer at a time; this process queues its transactions itself.

        Left to SQLite, waiting writers poll its lock with growing sleeps: under load some
        wait for seconds and then fail with "database is locked". An asyncio lock hands the
        database over in arrival order instead. Other processes (admin commands) still meet
        SQLite's own busy timeout.
        """
        if not self.queue_transactions:
            return contextlib.nullcontext()
        if self._turn is None:
            self._turn = asyncio.Lock()
        return self._turn

    def _slot(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        return self._slots

    @asynccontextmanager
    async def _turn_for(self, *, write: bool) -> AsyncIterator[None]:
        """The writers' queue (for a write) and a slot, waited for up to `turn_timeout`."""
        async with contextlib.AsyncExitStack() as held:
            try:
                async with asyncio.timeout(self.turn_timeout):
                    if write:
                        await held.enter_async_context(self._queue())
                    await held.enter_async_context(self._slot())
            except TimeoutError:
                raise outages.DatabaseUnavailable(
                    f"no free database slot within {self.turn_timeout:.0f} s"
                ) from None
            yield

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends normally, rolls back otherwise."""
        async with (
            outages.translated(),
            self._turn_for(write=True),
            self.sessions() as session,
            session.begin(),
        ):
            yield session
            for hook in self.before_commit:
                await hook(session)
        for hook in self.after_commit:
            await hook(session)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work. It skips the writers' queue: in WAL mode SQLite serves
        readers beside the writer, which is what lets a thousand woken devices read their
        desired state at once. Writes in it are refused by the database (BEGIN READ ONLY on
        PostgreSQL, query_only on SQLite).
        """
        options: dict[str, Any] = {READ_ONLY: True}
        if self.enforce_read_only:
            options = {READ_ONLY: STRICT, "postgresql_readonly": True}
        async with (
            outages.translated(),
            self._turn_for(write=False),
            self.sessions() as session,
            session.begin(),
        ):
            # The connection is procured with the options before its BEGIN is emitted.
            await session.connection(execution_options=options)
            yield session

    async def ping(self, *, deadline: float) -> None:
        """Raise `DatabaseUnavailable` unless the database answers within ``deadline`` seconds.

        Takes no slot: readiness must not queue behind the requests it is meant to judge.
        """
        try:
            async with (
                asyncio.timeout(deadline),
                outages.translated(),
                self.engine.connect() as conn,
            ):
                # Read-only: on SQLite a plain BEGIN, never the writers' lock.
                await conn.execution_options(**{READ_ONLY: True})
                await conn.exec_driver_sql("SELECT 1")
        except TimeoutError as exc:
            raise outages.DatabaseUnavailable("no answer within the readiness deadline") from exc

    async def dispose(self) -> None:
        await self.engine.dispose()
