"""Queries of the order path, compiled by the ORM once and then run with new values.

Building a query through the ORM costs this machine 0.5-1.3 ms of CPU per statement (filters,
lookups, the compiler), where running the SQL it produces costs about 0.1 ms; an order runs some
thirty statements, most of them inside the write transaction that every other order waits for.
So the hot statements are written once as ordinary querysets (the ORM stays the one place their
SQL comes from: `resting_filter()` is still the one definition of what rests on the book),
compiled on first use per database, and run again with each call's values, through the same
converters the ORM applies (SQLite keeps decimals as REAL: the converter makes them Decimal).

Writes of known fields (`row_update`) and inserts of new rows (`rows_insert`) are plain
statements built from the model's fields and adapted by each field's own `get_db_prep_save`.

On PostgreSQL a block of them can be `pipelined()`: sent without waiting for each answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connections, models
from django.db.transaction import TransactionManagementError

type Build = Callable[..., models.QuerySet[Any]]


class _Marker:
    """A value nobody sends: a placeholder for one argument while the query is compiled."""

    def __init__(self, index: int, kind: type) -> None:
        self.kind = kind
        if kind is str:
            self.value: Any = f"\x00prepared-{index}\x00"
        elif kind is int:
            self.value = -987_654_000 - index
        elif kind is Decimal:
            self.value = Decimal(f"-987654.{index + 1:03d}7")
        elif kind is UUID:
            self.value = UUID(int=0xFEED_0000 + index)
        elif kind is datetime:
            self.value = datetime(1901, 1, 1, 0, 0, index, tzinfo=UTC)
        else:
            raise TypeError(f"no placeholder for {kind}")


class _Compiled:
    def __init__(
        self,
        *,
        sql: str,
        params: list[Any],
        slots: list[tuple[int, str]],
        adapt: dict[str, Callable[[Any], Any]],
        model: type[models.Model] | None,
        attnames: list[str],
        converters: dict[int, tuple[list[Any], Any]],
        locks: bool,
    ) -> None:
        self.locks = locks
        self.sql = sql
        self.params = params
        self.slots = slots
        self.adapt = adapt
        self.model = model
        self.attnames = attnames
        self.converters = converters


class PreparedQuery:
    """`PreparedQuery(build, symbol=str, limit=Decimal)` where `build(symbol=..., limit=...)`
    returns the queryset. `.objects(**values)` gives model instances (a queryset of the model),
    `.rows(**values)` the converted rows of a `values_list()` queryset, `.scalar(**values)`
    the first column of the first row (None when there is no row)."""

    def __init__(self, build: Build, **kinds: type) -> None:
        self._build = build
        self._kinds = kinds
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        connection = connections[alias]
        markers = {
            name: _Marker(index, kind) for index, (name, kind) in enumerate(self._kinds.items())
        }
        queryset = self._build(**{name: marker.value for name, marker in markers.items()})
        query = queryset.query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        prepared = {name: _adapter(connection, marker.kind) for name, marker in markers.items()}
        slots: list[tuple[int, str]] = []
        for position, param in enumerate(params):
            for name, marker in markers.items():
                if param == prepared[name](marker.value):
                    slots.append((position, name))
        missing = set(markers) - {name for _, name in slots}
        if missing:
            raise ValueError(f"prepared query lost its arguments {sorted(missing)}: {sql}")
        selected = [expression for expression, _, _ in compiler.select]
        converters = compiler.get_converters(selected)
        model: type[models.Model] | None = None
        attnames: list[str] = []
        if not query.values_select and not query.annotation_select:
            if compiler.klass_info and compiler.klass_info.get("related_klass_infos"):
                raise ValueError("prepared queries load one model: no select_related()")
            model = queryset.model
            attnames = [expression.target.attname for expression in selected]
        return _Compiled(
            sql=sql,
            params=list(params),
            slots=slots,
            adapt=prepared,
            model=model,
            attnames=attnames,
            converters=converters,
            locks=bool(query.select_for_update),
        )

    def _run(self, alias: str, values: dict[str, Any]) -> tuple[_Compiled, list[list[Any]]]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(alias) or self._compile(alias)
                self._compiled[alias] = compiled
        connection = connections[alias]
        if compiled.locks and connection.get_autocommit():
            raise TransactionManagementError("a locking query needs an open transaction")
        params = list(compiled.params)
        for position, name in compiled.slots:
            params[position] = compiled.adapt[name](values[name])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = [list(row) for row in cursor.fetchall()]
        for row in rows:
            for position, (functions, expression) in compiled.converters.items():
                value = row[position]
                for function in functions:
                    value = function(value, expression, connection)
                row[position] = value
        return compiled, rows

    def objects(self, using: str = "default", **values: Any) -> list[Any]:
        compiled, rows = self._run(using, values)
        assert compiled.model is not None, "objects() needs a queryset of model rows"
        return [compiled.model.from_db(using, compiled.attnames, row) for row in rows]

    def rows(self, using: str = "default", **values: Any) -> list[list[Any]]:
        return self._run(using, values)[1]

    def scalar(self, using: str = "default", **values: Any) -> Any:
        rows = self.rows(using, **values)
        return rows[0][0] if rows else None


def _adapter(connection: Any, kind: type) -> Callable[[Any], Any]:
    """How the ORM hands a value of this kind to the driver."""
    ops = connection.ops
    if kind is UUID:
        if connection.features.has_native_uuid_field:
            return lambda value: value if isinstance(value, UUID) else UUID(str(value))
        return lambda value: (value if isinstance(value, UUID) else UUID(str(value))).hex
    if kind is datetime:
        return ops.adapt_datetimefield_value  # type: ignore[no-any-return]
    if kind is Decimal:
        return lambda value: ops.adapt_decimalfield_value(value)
    return lambda value: value


def _column(field: models.Field[Any, Any]) -> str:
    assert field.column is not None
    return field.column


def row_update(row: models.Model, fields: Sequence[str], using: str = "default") -> None:
    """`row.save(update_fields=fields)` for a row known to exist, without the ORM's compiler
    (no signals: none are connected to the models written here)."""
    rows_update([row], fields, using)


def rows_update(
    rows: Sequence[models.Model], fields: Sequence[str], using: str = "default"
) -> None:
    """`bulk_update` of rows of one model known to exist: one plain UPDATE by key, run for each
    row (executemany). Django's bulk_update builds a CASE expression per field and row;
    resolving them was most of the idle market process's CPU (about 0.3 s a tick for the 100
    quotes of 10 symbols)."""
    if not rows:
        return
    connection = connections[using]
    sql, columns, pk = _update_plan(using, type(rows[0]), tuple(fields))
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns]
        + [pk.get_db_prep_value(row.pk, connection)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)


# The statements of `rows_update` and `rows_insert`, by database, model and fields (or row
# count): building one cost as much CPU as running it, most of it under the write lock.
PLANS_KEPT = 1024
KEPT_ROWS = 16
_plans: dict[tuple[Any, ...], Any] = {}


def _kept[T](key: tuple[Any, ...], build: Callable[[], T]) -> T:
    plan: T | None = _plans.get(key)
    if plan is None:
        plan = build()
        if len(_plans) >= PLANS_KEPT:
            _plans.clear()
        _plans[key] = plan
    return plan


type UpdatePlan = tuple[str, list[models.Field[Any, Any]], models.Field[Any, Any]]


def _update_plan(using: str, model: type[models.Model], fields: tuple[str, ...]) -> UpdatePlan:
    def build() -> UpdatePlan:
        meta = model._meta
        quote = connections[using].ops.quote_name
        columns: list[models.Field[Any, Any]] = []
        for name in fields:
            field = meta.get_field(name)
            assert isinstance(field, models.Field) and field.concrete
            columns.append(field)
        pk = meta.pk
        assert pk is not None
        table, key = quote(meta.db_table), quote(_column(pk))
        assignments = ", ".join(f"{quote(_column(field))} = %s" for field in columns)
        # Table and column names come from the model's metadata, quoted; values are parameters.
        sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608  # nosec
        return sql, columns, pk

    return _kept(("update", using, model, fields), build)


type InsertPlan = tuple[str, list[models.Field[Any, Any]]]


def _insert_plan(using: str, model: type[models.Model], count: int) -> InsertPlan:
    def build() -> InsertPlan:
        meta = model._meta
        quote = connections[using].ops.quote_name
        fields = [f for f in meta.concrete_fields if not isinstance(f, models.AutoField)]
        columns = ", ".join(quote(_column(field)) for field in fields)
        placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
        values = ", ".join([placeholders] * count)
        # Table and column names come from the model's metadata, quoted; values are parameters.
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608  # nosec
        return sql, fields

    # Small batches are the order path's; a large one is rare and its statement large.
    return _kept(("insert", using, model, count), build) if count <= KEPT_ROWS else build()


def rows_insert(rows: Iterable[models.Model], using: str = "default") -> None:
    """Insert new rows of one model in one statement: `bulk_create` without its batching and
    returning machinery. Rows whose key is a default (a UUID) are marked saved; rows with an
    auto-increment key are log lines written once, so they are not given their id back."""
    batch = list(rows)
    if not batch:
        return
    connection = connections[using]
    model = type(batch[0])
    keyed = model._meta.auto_field is None
    assert not keyed or all(row.pk is not None for row in batch), "rows_insert needs keys set"
    sql, fields = _insert_plan(using, model, len(batch))
    params: list[Any] = []
    for row in batch:
        for field in fields:
            params.append(field.get_db_prep_save(field.pre_save(row, True), connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    if keyed:
        for row in batch:
            row._state.adding = False
            row._state.db = using


@contextmanager
def pipelined(using: str = "default") -> Iterator[None]:
    """PostgreSQL: send the block's statements in psycopg's pipeline mode. A write goes out
    without waiting for its answer; the next read (a fetch, a RETURNING) or the end of the
    block collects every answer so far, so reads still see the writes before them. An order
    under the symbol's row lock made some twenty round trips, each one a wait for the database
    and then for this process's interpreter lock while every other order of the symbol waited;
    about half of them are writes whose answers nobody reads. A failed write is raised at the
    next collection point (as Django's error: the transaction rolls back as before). Reading a
    statement's row count collects the answers first (`trading_demo/postgresql`). Elsewhere
    (SQLite answers in-process) the block runs as it is."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield
