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
its partition instead of walking every item, and a query of an index the items that carry its
hash key attribute, without sorting the whole table first.

Why models are untracked: moto appends every model object it creates (every version of every
DynamoDB item, every SQS message) to a class-level list that only its dashboard reads, so the
process grew by about 150 KB per order for as long as it ran. See `_untracked` below.

Why transaction tokens are kept: DynamoDB makes a TransactWriteItems idempotent for 10 minutes
through its `ClientRequestToken`, which the AWS SDKs set on every transaction and resend with
each retry; moto ignores it. Without it, a transaction applied whose answer was lost (a dropped
connection) failed its own conditions when the SDK retried it, and the service took its own
write for someone else's (the chaos soak caught a return refused as exceeding what was left by
the return it had just written). See `DynamoDbOneAtATime`.

SIGUSR1 prints what the emulator holds (live objects by type, items per table) to its log.

Fault injection (SPEC §9: any AWS call may be throttled, fail with a 5xx, be slow, or apply and
lose its answer). Off until configured; a control API on the emulator's own port switches it:

  POST   /__faults            replace the whole configuration (JSON below); answers the status
  GET    /__faults            the configuration and the counters
  DELETE /__faults            heal: no more faults (the counters are kept)
  DELETE /__faults/counters   reset the counters

  {"seed": 7,
   "rules": [
     {"service": "dynamodb", "operation": "*",
      "throttle": 0.02, "error500": 0.01, "error503": 0.01, "drop_after_apply": 0.01,
      "latency_rate": 0.05, "latency_ms": [0, 50]},
     {"service": "dynamodb", "operation": "TransactWriteItems",
      "transaction_conflict": 0.05, "throttle": 0.02},
     {"service": "sqs", "operation": "SendMessage", "error503": 0.1, "limit": 3}]}

- `service`: the SigV4 signing name, `dynamodb`, `sqs`, `kms`, `secretsmanager`, `s3`, ... or
  `*`. `operation`: the operation's name (`PutItem`, `SendMessage`, `Decrypt`, `GetSecretValue`),
  read from the X-Amz-Target header (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`,
  `TrentService.Decrypt`, `secretsmanager.GetSecretValue`; a rule may name it that way too) or
  the query protocol's `Action=`; for REST services (S3) the HTTP method (`GET`, `PUT`, ...); or
  `*`. A call takes the most specific rule that names it (exact service and operation, then the
  service's `*`, then `*` with the exact operation, then `*`/`*`; among equals the first listed),
  whole: fields missing from it are zero, not inherited from a less specific rule. This includes
  the local runner's own calls (the SQS event source's ReceiveMessage and DeleteMessageBatch).
- Fault rates, each a probability per call, their sum at most 1 (one fault per call at most):
  `throttle`: 400 and the service's throttling error (DynamoDB
    `ProvisionedThroughputExceededException`, S3 `SlowDown` with 503, others
    `ThrottlingException`; `throttle_code` names another, e.g. `ThrottlingException` for DynamoDB
    or `RequestThrottled` for SQS);
  `error500`: 500 `InternalServerError` (DynamoDB) / `InternalFailure` (others; S3
    `InternalError`);
  `error503`: 503 `ServiceUnavailable`;
  `drop_after_apply`: the call is applied as usual (DynamoDB under the lock above), then the
    connection is reset (RST, no answer): the caller sees a reset after the write happened;
  `transaction_conflict`: for `TransactWriteItems` / `TransactGetItems` only, 400
    `TransactionCanceledException` whose `CancellationReasons` carry one `TransactionConflict`
    (the others `None`), nothing applied.
  Each answer has the body and headers AWS sends for that protocol (JSON `__type` and `message`,
  SQS's `x-amzn-query-error` header, XML `ErrorResponse` for the query protocol, S3's `Error`).
- `latency_rate` and `latency_ms` (`[min, max]` or one number): that fraction of calls is first
  held for a uniform delay in the range, before anything else (a fault may follow). The delay is
  served outside the DynamoDB lock, so a slow call does not hold the others up.
- `limit`: at most this many faults from the rule (latency not counted), then it only delays.
- `seed`: each (service, operation) draws from its own generator seeded with it, so the same calls
  of one operation meet the same faults on every run, whatever the other operations do (the order
  in which concurrent calls of one operation arrive still decides which of them gets which draw).

The status: {"active": bool, "config": {...}, "counters": {service: {operation: {"calls": n,
"throttle": n, "error500": n, "error503": n, "drop_after_apply": n, "transaction_conflict": n,
"latency": n}}}, "totals": {"faults": n, "delayed": n, "calls": n, "by_kind": {kind: n}}}, where
`calls` counts the calls a rule applied to and `faults` every kind but latency.
"""

import copy
import hashlib
import inspect
import io
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid

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


# How long DynamoDB keeps a TransactWriteItems ClientRequestToken (its idempotency window).
TOKEN_WINDOW_SECS = 600


class DynamoDbOneAtATime:
    """Runs DynamoDB requests one at a time, and keeps DynamoDB's promise for a transaction's
    `ClientRequestToken` (which moto ignores): a TransactWriteItems carrying a token that
    succeeded in the last 10 minutes succeeds again without applying anything (the AWS SDKs set
    a token on every transaction and resend it with each retry, so a retry after a lost answer
    is not refused by the conditions the first attempt satisfied); the same token with other
    parameters is refused (`IdempotentParameterMismatchException`)."""

    def __init__(self, app):
        self.app = app
        # token -> (expires at, digest of the parameters, status, headers, body); oldest first
        self.tokens = {}

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        token, digest = None, None
        if target.endswith(".TransactWriteItems"):
            try:
                request = json.loads(_read_body(environ) or b"{}")
            except ValueError:
                request = None  # moto refuses it
            if isinstance(request, dict):
                token = request.pop("ClientRequestToken", None)
                digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        with _DYNAMODB:
            # the whole answer is produced inside the lock
            if token is None:
                return list(self.app(environ, start_response))
            return self._transaction(environ, start_response, token, digest)

    def _transaction(self, environ, start_response, token, digest):
        now = time.monotonic()
        while self.tokens:
            oldest = next(iter(self.tokens))
            if self.tokens[oldest][0] > now:
                break
            del self.tokens[oldest]
        seen = self.tokens.get(token)
        if seen is not None:
            _, earlier, status, headers, body = seen
            if earlier != digest:
                message = "The request with the same client token has different parameters."
                return _error(start_response, "dynamodb", "json", 400, "IdempotentParameterMismatchException",
                              message, "Sender")
            start_response(status, headers)
            return [body]
        answer = {}

        def keep(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, list(headers)
            return start_response(status, headers, exc_info)

        body = list(self.app(environ, keep))
        if answer.get("status", "").startswith("200"):
            self.tokens[token] = (now + TOKEN_WINDOW_SECS, digest, answer["status"], answer["headers"], b"".join(body))
        return body


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
    """A query of the table reads its partition only: moto walks every item of the table to find
    the partition, which makes each read of an order cost more the more orders there are. A query
    of an index walks only the items that carry the index's hash key attribute, unsorted: moto
    sorted the whole table first (by DynamoType comparisons) and sorts what it finds by the
    index's keys again anyway, so that each query of the sparse `due` index cost a second at
    20,000 items, with the DynamoDB lock held (the chaos soak's scheduler spent 7 s of every 10
    on it)."""
    bound = _QUERY_ARGS.bind(self, *args, **kwargs)
    hash_key = bound.arguments.get("hash_key")
    index_name = bound.arguments.get("index_name")
    if index_name:
        index = next((i for i in self.all_indexes() if i.name == index_name), None)
        attr = next((k["AttributeName"] for k in (index.schema if index else []) if k["KeyType"] == "HASH"), None)
        if attr is None:
            return _moto_query(self, *args, **kwargs)  # moto refuses it
        buckets = self.items.values()
        items = [i for b in buckets for i in b.values()] if self.range_key_attr else list(buckets)
        candidates = [i for i in items if attr in i.attrs]
    elif hash_key is None or not self.range_key_attr:
        return _moto_query(self, *args, **kwargs)
    else:
        try:
            candidates = list(self.items.get(hash_key, {}).values())
        except TypeError:  # a key moto itself will refuse
            return _moto_query(self, *args, **kwargs)
    self.all_items = lambda: candidates
    try:
        return _moto_query(self, *args, **kwargs)
    finally:
        del self.all_items


Table.query = query


# --- Fault injection (see the module docstring) ---------------------------------------------

FAULT_KINDS = ("throttle", "error500", "error503", "drop_after_apply", "transaction_conflict")
_RULE_FIELDS = {"service", "operation", "latency_rate", "latency_ms", "throttle_code", "limit"}
_RULE_FIELDS.update(FAULT_KINDS)

# The JSON protocols' error namespaces (the SDKs read the code after the `#`).
_NAMESPACES = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810",
    "sqs": "com.amazonaws.sqs",
    "kms": "com.amazonaws.kms",
    "secretsmanager": "com.amazonaws.secretsmanager",
}
# X-Amz-Target prefixes to signing names, for requests whose credential scope does not say.
_TARGET_SERVICES = {
    "DynamoDB_": "dynamodb",
    "AmazonSQS": "sqs",
    "TrentService": "kms",
    "secretsmanager": "secretsmanager",
}


class FaultRule:
    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ValueError("a rule is a JSON object")
        unknown = set(raw) - _RULE_FIELDS
        if unknown:
            raise ValueError(f"unknown rule fields {sorted(unknown)} (known: {sorted(_RULE_FIELDS)})")
        self.service = _name(raw, "service")
        # `DynamoDB_20120810.PutItem` names the operation `PutItem`, as calls are named.
        self.operation = _name(raw, "operation").rpartition(".")[2] or "*"
        self.rates = {kind: _rate(raw, kind) for kind in FAULT_KINDS}
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"rule {self.service}/{self.operation}: the fault rates add up to more than 1")
        self.latency_rate = _rate(raw, "latency_rate")
        latency = raw.get("latency_ms", 0)
        if isinstance(latency, (int, float)) and not isinstance(latency, bool):
            latency = [latency, latency]
        if (
            not isinstance(latency, list)
            or len(latency) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in latency)
            or not 0 <= latency[0] <= latency[1] <= 60_000
        ):
            raise ValueError("latency_ms: a number or [min, max], 0 to 60000 ms")
        self.latency_ms = (float(latency[0]), float(latency[1]))
        code = raw.get("throttle_code")
        if code is not None and (not isinstance(code, str) or not code.isalnum()):
            raise ValueError("throttle_code: an error code such as ThrottlingException")
        self.throttle_code = code
        limit = raw.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
            raise ValueError("limit: a number of faults, 0 or more")
        self.limit = limit
        self.injected = 0

    def specificity(self):
        return (self.service != "*") * 2 + (self.operation != "*")

    def matches(self, service, operation):
        return self.service in ("*", service) and self.operation in ("*", operation)


def _name(raw, field):
    value = raw.get(field, "*")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field}: a name or *")
    return value


def _rate(raw, field):
    value = raw.get(field, 0)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{field}: a probability from 0 to 1")
    return float(value)


class Faults:
    """The fault configuration, one random generator per (service, operation), and counters.
    Its own lock, never held while a request is served."""

    def __init__(self):
        self.lock = threading.Lock()
        self.config = {}
        self.seed = None
        self.rules = []
        self.rngs = {}
        self.counters = {}

    def configure(self, config):
        if not isinstance(config, dict):
            raise ValueError("the configuration is a JSON object")
        unknown = set(config) - {"seed", "rules"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)} (known: seed, rules)")
        seed = config.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("seed: an integer")
        raw_rules = config.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ValueError("rules: a list")
        rules = [FaultRule(raw) for raw in raw_rules]
        # Most specific first: the first match is the rule a call takes.
        rules.sort(key=FaultRule.specificity, reverse=True)
        with self.lock:
            self.config = {"seed": seed, "rules": raw_rules}
            self.seed = seed
            self.rules = rules
            self.rngs = {}

    def heal(self):
        self.configure({})

    def reset_counters(self):
        with self.lock:
            self.counters = {}

    def status(self):
        with self.lock:
            counters = copy.deepcopy(self.counters)
            config = copy.deepcopy(self.config)
            active = bool(self.rules)
        by_kind = {}
        calls = 0
        for operations in counters.values():
            for counts in operations.values():
                calls += counts.get("calls", 0)
                for kind, n in counts.items():
                    if kind != "calls":
                        by_kind[kind] = by_kind.get(kind, 0) + n
        faults = sum(n for kind, n in by_kind.items() if kind != "latency")
        totals = {"faults": faults, "delayed": by_kind.get("latency", 0), "calls": calls, "by_kind": by_kind}
        return {"active": active, "config": config, "counters": counters, "totals": totals}

    def decide(self, service, operation):
        """(delay in seconds, fault kind or None, throttle code or None, generator) for a call."""
        with self.lock:
            rule = next((r for r in self.rules if r.matches(service, operation)), None)
            if rule is None:
                return 0.0, None, None, None
            rng = self.rngs.get((service, operation))
            if rng is None:
                rng = random.Random() if self.seed is None else random.Random(f"{self.seed}/{service}/{operation}")
                self.rngs[(service, operation)] = rng
            counts = self.counters.setdefault(service, {}).setdefault(operation, {"calls": 0})
            counts["calls"] += 1
            # Both draws always happen, so that a call's fault does not depend on the latency
            # settings (and the streams stay aligned when only one of them changes).
            latency_draw, delay_draw, fault_draw = rng.random(), rng.random(), rng.random()
            delay = 0.0
            if latency_draw < rule.latency_rate:
                low, high = rule.latency_ms
                delay = (low + (high - low) * delay_draw) / 1000.0
                counts["latency"] = counts.get("latency", 0) + 1
            kind = None
            if rule.limit is None or rule.injected < rule.limit:
                edge = 0.0
                for candidate in FAULT_KINDS:
                    rate = rule.rates[candidate]
                    if candidate == "transaction_conflict" and not operation.startswith("Transact"):
                        rate = 0.0
                    edge += rate
                    if fault_draw < edge:
                        kind = candidate
                        break
            if kind is not None:
                rule.injected += 1
                counts[kind] = counts.get(kind, 0) + 1
            return delay, kind, rule.throttle_code, rng


FAULTS = Faults()


class _Dropped(ConnectionResetError):
    """Raised by the fault injector after applying a call whose answer is to be lost."""


def _call_of(environ, body):
    """(service, operation, protocol) of an AWS request, or None (the control API, moto's own)."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = next((s for p, s in _TARGET_SERVICES.items() if prefix.startswith(p)), None)
        return (service or _scope_service(environ) or prefix.lower()), operation, "json"
    service = _scope_service(environ)
    if service is None:
        return None
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    action = query.get("Action")
    if action is None and body is not None:
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return service, action[0], "query"
    return service, environ.get("REQUEST_METHOD", "GET"), "rest-xml"


def _scope_service(environ):
    """The signing name in the SigV4 credential scope (`Credential=AKID/date/region/SERVICE/...`)."""
    scope = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" in scope:
        scope = scope.split("Credential=", 1)[1]
    else:
        scope = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential", [""])[0]
    parts = scope.split(",", 1)[0].split("/")
    return parts[3] if len(parts) >= 5 else None


def _needs_body(environ):
    """Whether the body must be read to name the call: a form post (the query protocol) or a
    transaction whose items must be counted."""
    if environ.get("HTTP_X_AMZ_TARGET", "").endswith((".TransactWriteItems", ".TransactGetItems")):
        return True
    content_type = environ.get("CONTENT_TYPE", "")
    return not environ.get("HTTP_X_AMZ_TARGET") and content_type.startswith("application/x-www-form-urlencoded")


def _read_body(environ):
    """Reads the request body and puts it back for moto."""
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        length = environ.get("CONTENT_LENGTH") or "0"
        body = stream.read(int(length)) if length.isdigit() else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


_ERRORS = {
    # kind: (status, {service: code}, default code, message, fault side)
    "throttle": (400, {"dynamodb": "ProvisionedThroughputExceededException", "s3": "SlowDown"},
                 "ThrottlingException", None, "Sender"),
    "error500": (500, {"dynamodb": "InternalServerError", "s3": "InternalError"},
                 "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", "Receiver"),
    "error503": (503, {}, "ServiceUnavailable", "The service is unavailable. Please try again later.", "Receiver"),
}
_THROTTLE_MESSAGES = {
    "ProvisionedThroughputExceededException": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
    "SlowDown": "Please reduce your request rate.",
}


def _error(start_response, service, protocol, status, code, message, side, extra=None):
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    if protocol == "json":
        body = {"__type": f"{_NAMESPACES.get(service, 'com.amazonaws.' + service)}#{code}"}
        if extra:
            body.update(extra)
        else:
            body["message"] = message
        payload = json.dumps(body).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.0"))
        if service == "sqs":
            # SQS's JSON protocol is query-compatible: the SDK takes the code from this header.
            headers.append(("x-amzn-query-error", f"{code};{side}"))
    elif protocol == "query":
        payload = (
            '<?xml version="1.0"?><ErrorResponse><Error>'
            f"<Type>{side}</Type><Code>{code}</Code><Message>{message}</Message><Detail/>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    else:
        payload = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    headers.append(("Content-Length", str(len(payload))))
    reason = {400: "Bad Request", 500: "Internal Server Error", 503: "Service Unavailable"}[status]
    start_response(f"{status} {reason}", headers)
    return [payload]


def _transaction_conflict(start_response, service, body, rng):
    """What DynamoDB answers when another transaction holds one of the items: every item gets a
    reason, one of them `TransactionConflict`, and nothing is applied."""
    try:
        items = len(json.loads(body or b"{}").get("TransactItems", [])) or 1
    except (ValueError, AttributeError):
        items = 1
    conflicting = rng.randrange(items)
    reasons = [{"Code": "None"} for _ in range(items)]
    reasons[conflicting] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    codes = ", ".join(r["Code"] for r in reasons)
    message = f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"
    extra = {"CancellationReasons": reasons, "Message": message}
    return _error(start_response, service, "json", 400, "TransactionCanceledException", message, "Sender", extra)


class FaultInjector:
    """WSGI middleware in front of everything else: the control API at /__faults, and the faults
    the configuration asks for. It wraps the DynamoDB serialisation, so that a delay is served
    before the lock is taken and an injected error never takes it; a dropped call is applied
    under it as usual."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") in ("/__faults", "/__faults/counters"):
            return self.control(environ, start_response, path.rstrip("/"))
        if not FAULTS.rules:
            return self.app(environ, start_response)
        body = _read_body(environ) if _needs_body(environ) else None
        call = _call_of(environ, body)
        if call is None:
            return self.app(environ, start_response)
        service, operation, protocol = call
        delay, kind, throttle_code, rng = FAULTS.decide(service, operation)
        if delay:
            time.sleep(delay)
        if kind is None:
            return self.app(environ, start_response)
        if kind == "transaction_conflict":
            return _transaction_conflict(start_response, service, body, rng)
        if kind == "drop_after_apply":
            answer = self.app(environ, lambda *_args, **_kwargs: (lambda _data: None))
            try:
                for _ in answer:
                    pass
            finally:
                if hasattr(answer, "close"):
                    answer.close()
            raise _Dropped(f"{service} {operation}: applied, answer dropped")
        status, codes, default, message, side = _ERRORS[kind]
        code = codes.get(service, default)
        if kind == "throttle":
            code = throttle_code or code
            message = _THROTTLE_MESSAGES.get(code, "Rate exceeded")
            if code == "SlowDown":
                status = 503
        return _error(start_response, service, protocol, status, code, message, side)

    def control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == "/__faults/counters" and method == "DELETE":
                FAULTS.reset_counters()
            elif path == "/__faults" and method == "POST":
                body = _read_body(environ)
                try:
                    config = json.loads(body or b"{}")
                except ValueError as e:
                    raise ValueError(f"not JSON: {e}") from None
                FAULTS.configure(config)
                print(f"[faults] configured: {json.dumps(config)}", file=sys.stderr, flush=True)
            elif path == "/__faults" and method == "DELETE":
                FAULTS.heal()
                print("[faults] healed", file=sys.stderr, flush=True)
            elif path != "/__faults" or method != "GET":
                return _json(start_response, "405 Method Not Allowed", {"message": "GET, POST or DELETE /__faults; DELETE /__faults/counters"})
        except ValueError as e:
            return _json(start_response, "400 Bad Request", {"message": str(e)})
        return _json(start_response, "200 OK", FAULTS.status())


def _json(start_response, status, value):
    payload = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class RequestHandler(MotoRequestHandler):
    def connection_dropped(self, error, environ=None):
        """An injected drop: reset the connection (RST, no answer) instead of answering. The
        socket is detached from Python's objects before it is closed, so that nothing writes to
        it or closes it again afterwards (they see a closed socket, which the server ignores)."""
        if not isinstance(error, _Dropped):
            return super().connection_dropped(error, environ)
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        except OSError:
            pass
        return None


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
        FaultInjector(DynamoDbOneAtATime(app)),
        threaded=True,
        request_handler=RequestHandler,
    )


if __name__ == "__main__":
    main()
