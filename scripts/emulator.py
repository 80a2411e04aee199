"""moto's server (the local AWS emulator), with DynamoDB requests run one at a time.

Usage: emulator.py HOST PORT

Why not plain `moto_server`: it serves requests on threads, and moto's TransactWriteItems
is not isolated from other requests. A transaction snapshots the whole table when it starts
and, when one of its conditions fails, restores that snapshot, which silently undoes every
write that other requests committed in the meantime. Real DynamoDB never does that, and our
concurrency tests (fifty simultaneous starts on one pay order) caught it: a lost claim let a
second start through. Serializing DynamoDB requests gives each one the isolation DynamoDB
gives. SQS and everything else stay concurrent, so SQS long polls do not hold the lock.

Why moto's transaction is patched: to roll back, it deep-copied every table a transaction
touches before running it, on every call. A table of a few thousand orders made each
transaction copy megabytes (latency growing from 5 ms to most of a second) and the process grew
by gigabytes in a day of local traffic. `transact_write_items` below keeps moto's own logic but
snapshots only the items the transaction names, and on any failure puts exactly those back:
the rollback DynamoDB promises, in constant time and memory. And a query of the table reads
its partition instead of walking every item.

Why models are untracked: moto appends every model object it creates (every version of every
DynamoDB item, every SQS message) to a class-level list that only its dashboard reads, so the
process grew by about 150 KB per order for as long as it ran. See `_untracked` below.

SIGUSR1 prints what the emulator holds (live objects by type, items per table) to its log.
"""

import copy
import inspect
import os
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.core.common_models import BaseModel
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

_DYNAMODB = threading.Lock()


class DynamoDbOneAtATime:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with _DYNAMODB:
            # the whole answer is produced inside the lock
            return list(self.app(environ, start_response))


class _TablesAsThemselves:
    """Stands in for `copy` inside moto's transaction: a table "copy" is the table itself
    (nothing to restore wholesale); every other value is copied as usual."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _touched_items(backend, transact_items):
    """(table, hash key, range key, copy of the item or None) for every item named."""
    touched = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it before writing anything
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        source = op.get("Item") if op_type == "Put" else op.get("Key")
        if table is None or not source or table.hash_key_attr not in source:
            continue
        hash_key = DynamoType(source[table.hash_key_attr])
        range_key = None
        if table.has_range_key:
            if table.range_key_attr not in source:
                continue
            range_key = DynamoType(source[table.range_key_attr])
        item = table.get_item(hash_key, range_key)
        touched.append((table, hash_key, range_key, copy.deepcopy(item)))
    return touched


def _put_back(touched):
    for table, hash_key, range_key, item in reversed(touched):
        if range_key is None:
            if item is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = item
            continue
        bucket = table.items[hash_key]
        if item is None:
            bucket.pop(range_key, None)
            if not bucket:
                table.items.pop(hash_key, None)
        else:
            bucket[range_key] = item


_moto_transact = dynamodb_models.DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    touched = _touched_items(self, transact_items)
    dynamodb_models.copy = _TablesAsThemselves
    try:
        return _moto_transact(self, transact_items)
    except Exception:
        _put_back(touched)
        raise
    finally:
        dynamodb_models.copy = copy


# DynamoDB requests are serialized (below), so swapping the module's `copy` is safe.
dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items

_moto_query = Table.query
_QUERY_ARGS = inspect.signature(_moto_query)


def query(self, *args, **kwargs):
    """A query of the table (not of an index) reads its partition only: moto walks every item
    of the table to find the partition, which makes each read of an order cost more the more
    orders there are."""
    bound = _QUERY_ARGS.bind(self, *args, **kwargs)
    hash_key = bound.arguments.get("hash_key")
    if bound.arguments.get("index_name") or hash_key is None or not self.range_key_attr:
        return _moto_query(self, *args, **kwargs)
    try:
        partition = list(self.items.get(hash_key, {}).values())
    except TypeError:  # a key moto itself will refuse
        return _moto_query(self, *args, **kwargs)
    self.all_items = lambda: partition
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        del self.all_items


Table.query = query


def _memory_report(*_):
    """SIGUSR1: what the emulator holds (live objects by type, items per table), to stderr."""
    import collections
    import gc

    gc.collect()
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    print("objects by type:", counts.most_common(12), file=sys.stderr)
    for backend in dynamodb_models.dynamodb_backends.values():
        for region in backend.values():
            for name, table in region.tables.items():
                items = sum(len(v) if isinstance(v, dict) else 1 for v in table.items.values())
                print(f"table {name}: {len(table.items)} partitions, {items} items", file=sys.stderr)
    sys.stderr.flush()


def _untracked(cls, *args, **kwargs):
    return object.__new__(cls)


# moto keeps every model object it ever made (each DynamoDB item version, each SQS message) in
# a class-level list for its dashboard, so a long run's memory only grows: a table of 3,000
# items held 18,000 item objects. Objects are made untracked instead (the dashboard's model
# view is empty; nothing else reads the list).
BaseModel.__new__ = staticmethod(_untracked)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGUSR1, _memory_report)
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        host,
        port,
        DynamoDbOneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
