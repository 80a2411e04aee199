#!/usr/bin/env python3
"""The chaos soak's driver and ledger checker (SPEC §9), run by scripts/chaos.sh against the
fresh local system it starts (its run.env in $LOCAL_DIR, by default .local-chaos/).

Usage: chaos.py [ORDERS] [--faults RATE] [--crashes RATE] [--dupes RATE] [--seed N]
                [--inflight N] [--converge SECS] [--inject KINDS]

1. Sets the system up (chaos off): three receivers per app and channel, bound at the channel;
   app shop-2 with autoFinish off (its orders are finished by hand).
2. Turns the injections on: AWS faults at the emulator (POST /__faults: DynamoDB calls throttled,
   500, 503, applied-then-dropped, slowed, transactions conflicting; SQS sends and KMS calls
   failed the same ways), sandbox crashes and SQS duplicates, twins, reordering and holding back
   at the front door (POST /__local/chaos). The notice sink refuses a share of the notices all
   along (chaos.sh starts it so).
3. Drives ORDERS orders of three apps (the default one, shop-1, shop-2), on Alipay and WeChat Pay
   alternately, each order a story run by a pool of threads, as a merchant and its payment
   gateway would: the trade paid at the simulator, the pay-order feed (sometimes twice, and once
   more at the end), sometimes a refund before the split (and then a start above what is left,
   which must be refused), the start with explicit receivers (sometimes with a rival start on
   the same pay order at the same moment: one may win), the split settled at the simulator
   (sometimes one receiver failing; Alipay notifies our callback), syncs, the finish (auto, or
   by hand for shop-2 and racing the auto finish for some others; Alipay's finish settle is
   completed at the simulator too), returns (WeChat: return orders; Alipay: the refund plan, then
   the refund carrying it, then its refund notice; sometimes one above what is left, which must
   be refused) and refunds of the merchant's own part. Every merchant request is sent again, the
   same, until it gets a clear answer: an HTTP 500, a 10001, a timeout or a broken connection
   only means "ask again later", and no order is given up.
4. Heals (DELETE both) once every story is done, or at most TAIL seconds after the last order
   began, then lets the stories finish and waits (bounded: --converge, by default between 7 and
   10 minutes by the number of orders: at least the scheduler's 5-minute lease, after which work
   whose job was lost is found again) until nothing is due in the store and the job queue is
   empty.
5. Checks, from the simulators' ledgers (GET /__sim/ledger), the store (a Scan of the emulator's
   table: a dev tool may), the notice sink (GET /deliveries) and the dead-letter queue:
   - no pay order split twice at the channel, and every split at the channel belongs to an
     order of the store whose details and results it matches (an order failed in the store has
     no split; a finished one has its finish at the channel);
   - nothing split beyond paid minus refunded, per trade, at the channel;
   - every return at most what its receiver got (store and channel), the store's tallies equal
     to its returns, Alipay's holdings equal to what the store says the receiver kept;
   - the refunds the store holds equal the channel's;
   - every order, return and notice terminal or flagged for a human: nothing processing without
     due work, no notice neither delivered nor given up, no pay order taken by no live order,
     and (past the convergence bound) nothing still due;
   - every notice that should exist (each status an order or return reached) exists and was
     delivered at the sink at least once;
   - the DLQ empty, or each message in it explained (its work done by another delivery);
   - and what the driver saw: no start above what is left accepted, no rival start accepted
     beside the winner, no return above what is left accepted, no unexpected refusal.
   Prints one line per violation and, last, exactly
   `chaos: N orders, F faults, C crashes, D duplicates: invariants held` (exit 0) or
   `chaos: N orders, F faults, C crashes, D duplicates: K violations` (exit 1).

6. Proves that the checker can fail (the self-check): once the run's own result is known (before
   it is printed), it
   plants every inconsistency below and checks again; each must give the violations it should,
   else the run has a `checker blind` (or `checker unproven`) violation. The inconsistencies:
   `overrefund` (a refund at each simulator of all the merchant had left, without a return),
   `wedge` (an order set back to processing and its finish notice to undelivered, both without
   due work), `lose` (an order item deleted from the store), `expect` (a broken expectation: at
   most 0 splits per trade), `undelivered` (the sink's deliveries of one order overlooked) and
   `deadletter` (dead letters of work that was never done: a sync of no order, Alipay's
   notification of a settle no order made).

--inject KINDS plants those (comma-separated, or `all`) before the real check instead, so the
run itself must fail (and the self-check is skipped).

Python 3 standard library for the driver; boto3 (from the repo's .venv, which chaos.sh uses) to
read the store and the queues.
"""
import argparse
import heapq
import itertools
import json
import os
import random
import re
import string
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from daxpay_sign import signature

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCAL_DIR = os.environ.get("LOCAL_DIR") or os.path.join(ROOT, ".local-chaos")


def read_env():
    values = {}
    with open(os.path.join(LOCAL_DIR, "run.env"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                values[k] = v
    return values


E = read_env()
LOG_LOCK = threading.Lock()
DRIVER_LOG = open(os.path.join(LOCAL_DIR, "chaos-driver.log"), "w", encoding="utf-8")


def log(line):
    with LOG_LOCK:
        DRIVER_LOG.write(f"{time.strftime('%H:%M:%S')} {line}\n")


def say(line):
    print(line, flush=True)
    log(line)


# --- HTTP ------------------------------------------------------------------------------------


def http(method, url, body=None, timeout=35, raw=None):
    """(status, text); status None when no answer came (refused, reset, timed out)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
    headers = {"content-type": "application/json"} if data is not None else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        try:
            text = e.read().decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - the body is only for the log
            text = ""
        return e.code, text
    except Exception as e:  # noqa: BLE001 - any transport failure is "no answer"
        return None, f"{type(e).__name__}: {e}"


def control(method, url, body=None, ok=(200,)):
    """A call to a control API (simulators, emulator, front door, sink): sent again on a
    transport failure; (status, parsed JSON or text)."""
    for attempt in range(30):
        status, text = http(method, url, body, timeout=60)
        if status is not None:
            try:
                return status, json.loads(text)
            except ValueError:
                return status, text
        time.sleep(min(2.0, 0.2 * (attempt + 1)))
    raise RuntimeError(f"{method} {url}: no answer ({text})")


class App:
    def __init__(self, index, app_id, base, secret, sign_type, alipay_app_id, wechat_mchid):
        self.index = index
        self.id = app_id
        self.base = base
        self.secret = secret
        self.sign_type = sign_type or "HMAC_SHA256"
        self.alipay_app_id = alipay_app_id  # None: the simulator's first app
        self.wechat_mchid = wechat_mchid  # None: the simulator's first merchant
        self.manual_finish = False
        self.receivers = {}  # channel -> [(receiverNo, type, account)]

    def signed(self, body):
        body = dict(body)
        body["sign"] = signature(body, self.secret, self.sign_type)
        return body


def apps_from_env():
    apps = [App(0, E.get("DEFAULT_APP_ID", "default"), E["URL"], E["SIGN_SECRET"], E.get("SIGN_TYPE"), None, None)]
    n = 1
    while f"APP{n}_ID" in E:
        apps.append(App(n, E[f"APP{n}_ID"], E[f"APP{n}_URL"], E[f"APP{n}_SECRET"], E.get(f"APP{n}_SIGN_TYPE"),
                        E.get(f"APP{n}_ALIPAY_APP_ID"), E.get(f"APP{n}_WECHAT_MCHID")))
        n += 1
    return apps


NONCE_ALPHABET = string.ascii_letters + string.digits


class Answer:
    """A merchant request's outcome: ok (data), refused (data.code 1), or unclear (why)."""

    def __init__(self, kind, data=None, why=""):
        self.kind, self.data, self.why = kind, data or {}, why

    @property
    def ok(self):
        return self.kind == "ok"

    @property
    def refused(self):
        return self.kind == "refused"

    @property
    def msg(self):
        return self.data.get("msg", "")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n


STATS = Stats()


class Anomalies:
    """Answers a merchant should never get, which lose nothing (the driver asks again): e.g. a
    request with a fresh nonce refused as a replay of itself. Reported, not counted as
    violations of the invariants."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, where, what):
        with self.lock:
            self.items.append((where, what))


ANOMALIES = Anomalies()


def merchant_once(app, path, fields):
    body = dict(fields)
    body["reqTime"] = int(time.time())
    if random.random() < 0.7:
        body["nonceStr"] = "".join(random.choice(NONCE_ALPHABET) for _ in range(24))
    status, text = http("POST", app.base + path, app.signed(body))
    STATS.add("merchant requests")
    if status != 200:
        STATS.add(f"merchant answers HTTP {status or 'none'}")
        return Answer("unclear", why=f"HTTP {status}: {text[:120]}")
    try:
        envelope = json.loads(text)
    except ValueError:
        return Answer("unclear", why=f"not JSON: {text[:120]}")
    code = envelope.get("code")
    data = envelope.get("data") or {}
    if code == 0 and data.get("code") == 0:
        return Answer("ok", data)
    if code == 0 and data.get("code") == 1:
        return Answer("refused", data)
    STATS.add(f"merchant answers code {code}")
    if code != 10001:
        # never right for a request sent once with a fresh nonce: reported beside the violations
        ANOMALIES.add(f"{app.id}{path}", f"{code} {envelope.get('msg')} (traceId {envelope.get('traceId')})")
        log(f"unexpected envelope on {app.id}{path} {json.dumps(fields, ensure_ascii=False)[:200]}: {text[:300]}")
    return Answer("unclear", why=f"envelope {code}: {envelope.get('msg')}")


def backoff(attempt):
    return min(6.0, 0.4 * (1.6 ** attempt)) * random.uniform(0.6, 1.2)


def merchant(app, path, fields):
    """Sends the request again, the same, until its answer is clear (a generator: yields the
    seconds to wait before the next try). Returns the Answer (ok or refused)."""
    attempt = 0
    while True:
        answer = merchant_once(app, path, fields)
        if answer.kind != "unclear":
            return answer
        attempt += 1
        STATS.add("merchant retries")
        yield backoff(attempt)


def feed(app, path, notice):
    """Posts a signed DaxPay notice to a feed until it is answered SUCCESS (generator). Returns
    None, or the unexpected answer it kept getting (4xx other than 409, five times)."""
    attempt, refusals = 0, 0
    while True:
        status, text = http("POST", app.base + path, app.signed(notice))
        STATS.add("feed requests")
        if status == 200 and text == "SUCCESS":
            return None
        if status in (400, 401, 403):
            refusals += 1
            if refusals >= 5:
                return f"HTTP {status}: {text[:200]}"
        attempt += 1
        STATS.add("feed retries")
        yield backoff(attempt)


# --- The system's controls -------------------------------------------------------------------


def fault_rules(rate):
    """--faults RATE spread over the kinds of fault, per service."""
    if rate <= 0:
        return []
    r = rate
    spread = {"throttle": r * 0.3, "error500": r * 0.2, "error503": r * 0.2, "drop_after_apply": r * 0.3}
    slow = {"latency_rate": min(1.0, r * 2), "latency_ms": [0, 80]}
    txn = {"throttle": r * 0.2, "error500": r * 0.15, "error503": r * 0.15, "drop_after_apply": r * 0.2,
           "transaction_conflict": r * 0.3}
    rules = [
        {"service": "dynamodb", "operation": "*", **spread, **slow},
        {"service": "dynamodb", "operation": "TransactWriteItems", **txn, **slow},
        # sends only: a rule on the worker's own ReceiveMessage would stop its poller
        {"service": "sqs", "operation": "SendMessage", **spread, "throttle_code": "RequestThrottled"},
        {"service": "sqs", "operation": "SendMessageBatch", **spread, "throttle_code": "RequestThrottled"},
        {"service": "kms", "operation": "*", **spread},
    ]
    return rules


def chaos_settings(crashes, dupes, seed):
    return {"seed": seed, "crash_rate": crashes, "crash_after": [1, 8], "dupes_rate": dupes,
            "twin_rate": dupes / 2, "reorder_rate": dupes, "holdback_rate": dupes / 2}


def faults_status():
    status, body = control("GET", E["EMULATOR_URL"] + "/__faults")
    return body if status == 200 and isinstance(body, dict) else {}


def chaos_status():
    status, body = control("GET", E["URL"] + "/__local/chaos")
    return body if status == 200 and isinstance(body, dict) else {}


def rss_mb():
    try:
        with open(f"/proc/{E['EMULATOR_PID']}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- The channels (simulators' control APIs) -------------------------------------------------

ALIPAY_TYPES = {"ali_user_id": "userId", "ali_login_name": "loginName", "ali_open_id": "openId"}
WECHAT_TYPES = {"wx_merchant": "MERCHANT_ID", "wx_personal": "PERSONAL_OPENID"}
RECEIVERS = {
    "ali_pay": [("ali_user_id", "2088000000000011"), ("ali_login_name", "staff@example.com"),
                ("ali_user_id", "2088000000000022")],
    "wechat_pay": [("wx_merchant", "1900000110"), ("wx_personal", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
                   ("wx_merchant", "1900000120")],
}


def channel_type(receiver_type):
    return ALIPAY_TYPES.get(receiver_type) or WECHAT_TYPES.get(receiver_type)


# --- Orders ----------------------------------------------------------------------------------


class Violations:
    def __init__(self, label="VIOLATION"):
        self.lock = threading.Lock()
        self.items = []
        self.label = label

    def add(self, kind, subject, detail):
        with self.lock:
            self.items.append((kind, subject, detail))
        log(f"{self.label} {kind}: {subject}: {detail}")

    def kinds(self):
        with self.lock:
            return {kind for kind, _, _ in self.items}


VIOLATIONS = Violations()


class Order:
    def __init__(self, driver, i):
        rng = random.Random(f"{driver.seed}/order/{i}")
        self.rng = rng
        self.i = i
        apps = driver.apps
        self.app = apps[i % len(apps)]
        self.channel = "ali_pay" if (i // len(apps)) % 2 == 0 else "wechat_pay"
        run = driver.run
        self.no = f"P{run}{i:05d}"
        self.biz_order_no = f"B{run}{i:05d}"
        self.biz_alloc = f"A{run}{i:05d}"
        self.trade = f"T{run}{i:05d}"
        self.amount = rng.randint(1000, 20000)
        self.pay_time = int(time.time())
        self.refunded = 0  # what the driver refunded (and fed)
        self.refund_seq = 0
        self.pre_refund = rng.randint(1, self.amount // 4) if rng.random() < 0.08 else 0
        self.oversplit = bool(self.pre_refund) and rng.random() < 0.5
        self.rival = rng.random() < 0.05
        self.double_start = (not self.rival) and rng.random() < 0.04
        self.dup_feed = rng.random() < 0.1
        self.race_finish = (not self.app.manual_finish) and rng.random() < 0.15
        # receivers and amounts
        pool = list(self.app.receivers[self.channel])
        rng.shuffle(pool)
        k = rng.randint(1, len(pool))
        chosen = pool[:k]
        total = max(k, int((self.amount - self.pre_refund) * rng.uniform(0.3, 0.9)))
        cuts = sorted(rng.sample(range(1, total), k - 1)) if k > 1 else []
        amounts = [b - a for a, b in zip([0] + cuts, cuts + [total])]
        self.shares = [(no, kind, account, amt) for (no, kind, account), amt in zip(chosen, amounts)]
        self.failing = None
        if rng.random() < 0.08:
            self.failing = rng.choice(self.shares)[0]
        self.return_plan = rng.random() < 0.25
        self.post_refund = rng.random() < 0.1
        self.alloc = None
        self.status = None
        self.returns = []  # {"biz", "returnNo", "receiverNo", "amount", "status"}
        self.done = False
        self.fed = False
        self.refused_start = None
        self.refused_returns = []  # (bizReturnNo, receiverNo, amount, msg)
        self.stage = "new"

    def __repr__(self):
        return f"{self.app.id}/{self.channel}/{self.no}/{self.alloc or '-'}"

    def note(self, what):
        self.stage = what
        log(f"{self!r}: {what}")

    def receivers_field(self, scale=None):
        shares = self.shares
        if scale:
            shares = [(no, kind, acc, amt + (scale if n == 0 else 0)) for n, (no, kind, acc, amt) in enumerate(shares)]
        return [{"receiverNo": no, "amount": amt} for no, _, _, amt in shares]

    def notify_url(self):
        return f"{E['SINK_URL']}/notify/{self.app.id}"


class Driver:
    def __init__(self, opts, apps):
        self.opts = opts
        self.seed = opts.seed
        self.apps = apps
        self.run = str(int(time.time()))
        self.orders = []
        self.stopping = False

    # the channels -----------------------------------------------------------------------

    def seed_trade(self, o):
        if o.channel == "ali_pay":
            body = {"trade_no": o.trade, "amount_fen": o.amount}
            if o.app.alipay_app_id:
                body["app_id"] = o.app.alipay_app_id
            status, answer = control("POST", E["SIM_URL"] + "/__sim/trades", body)
        else:
            body = {"transaction_id": o.trade, "amount_fen": o.amount}
            if o.app.wechat_mchid:
                body["mchid"] = o.app.wechat_mchid
            status, answer = control("POST", E["WX_URL"] + "/__sim/transactions", body)
        if status != 200:
            raise RuntimeError(f"seeding {o.trade}: {status} {answer}")

    def channel_refund(self, o, refund_no, amount, royalty=None):
        """Refunds at the simulator as the payment gateway would. None, or the refusal."""
        if o.channel == "ali_pay":
            body = {"trade_no": o.trade, "out_request_no": refund_no, "refund_amount_fen": amount,
                    "royalty": royalty or []}
            status, answer = control("POST", E["SIM_URL"] + "/__sim/refund", body)
        else:
            body = {"transaction_id": o.trade, "out_refund_no": refund_no, "amount_fen": amount}
            status, answer = control("POST", E["WX_URL"] + "/__sim/refund", body)
        return None if status == 200 else f"{status} {answer}"

    def complete(self, o, request_no, outcomes):
        """Settles a split (or Alipay's finish settle) at the simulator: 'done', 'absent' (the
        channel has no such request yet) or 'settled' (not pending any more)."""
        if o.channel == "ali_pay":
            body = {"trade_no": o.trade, "out_request_no": request_no, "outcomes": outcomes}
            status, answer = control("POST", E["SIM_URL"] + "/__sim/complete", body)
        else:
            body = {"transaction_id": o.trade, "out_order_no": request_no, "outcomes": outcomes}
            status, answer = control("POST", E["WX_URL"] + "/__sim/complete", body)
        if status == 200:
            if isinstance(answer, dict) and answer.get("result") not in (None, "delivered"):
                STATS.add(f"alipay notify {answer.get('result')}")
            return "done"
        if status == 404:
            return "absent"
        if status == 409:
            return "settled"
        raise RuntimeError(f"complete {request_no}: {status} {answer}")

    # the merchant's and the gateway's requests ------------------------------------------

    def pay_notice(self, o):
        now = int(time.time())
        return {"orderNo": o.no, "bizOrderNo": o.biz_order_no, "outOrderNo": o.trade, "title": "chaos",
                "channel": o.channel, "method": "qrcode", "amount": o.amount, "status": "success",
                "allocation": True, "autoAllocation": False, "payTime": o.pay_time, "code": 0, "resTime": now}

    def feed_pay(self, o):
        problem = yield from feed(o.app, "/feed/pay-order", self.pay_notice(o))
        if problem:
            VIOLATIONS.add("feed refused", repr(o), f"the pay-order feed answered {problem}")

    def refund(self, o, amount, royalty=None, biz_refund_no=None):
        """A refund at the channel and its notice fed (generator). False if the channel refused."""
        o.refund_seq += 1
        refund_no = f"F{self.run}{o.i:05d}{o.refund_seq}"
        refused = self.channel_refund(o, refund_no, amount, royalty)
        if refused:
            return refused
        o.refunded += amount
        now = int(time.time())
        notice = {"orderNo": o.no, "bizOrderNo": o.biz_order_no, "outOrderNo": o.trade, "title": "chaos",
                  "refundNo": refund_no, "bizRefundNo": biz_refund_no or f"BF{self.run}{o.i:05d}{o.refund_seq}",
                  "channel": o.channel, "orderAmount": o.amount, "amount": amount, "reason": "chaos",
                  "status": "success", "finishTime": now, "createTime": now, "code": 0, "resTime": now}
        problem = yield from feed(o.app, "/feed/refund", notice)
        if problem:
            VIOLATIONS.add("feed refused", repr(o), f"the refund feed answered {problem}")
        o.note(f"refunded {amount} ({refund_no})")
        return None

    def start_fields(self, o, biz, extra=0):
        return {"bizAllocationNo": biz, "orderNo": o.no, "receivers": o.receivers_field(extra),
                "description": "chaos", "notifyUrl": o.notify_url()}

    def query(self, o):
        answer = yield from merchant(o.app, "/unipay/query/allocationOrder", {"allocationNo": o.alloc})
        if answer.refused:
            VIOLATIONS.add("order lost", repr(o), f"the order query refused: {answer.msg}")
            return None
        o.status = answer.data.get("status")
        return answer.data

    def pause(self, o, polls, sync_every, secs):
        """Between two polls of an order: a sync asked for every `sync_every`-th, then `secs`
        and up to 2 s more."""
        if polls % sync_every == 0:
            yield from merchant(o.app, "/unipay/sync/allocation", {"allocationNo": o.alloc})
        yield secs + o.rng.random() * 2

    # the story ----------------------------------------------------------------------------

    def story(self, o):
        o.note(f"begins: {o.amount} fen, shares {[(s[0], s[3]) for s in o.shares]}, "
               f"pre-refund {o.pre_refund}, failing {o.failing}")
        self.seed_trade(o)
        yield from self.feed_pay(o)
        o.fed = True
        if o.dup_feed:
            yield from self.feed_pay(o)
        if o.pre_refund:
            refused = yield from self.refund(o, o.pre_refund)
            if refused:
                raise RuntimeError(f"the channel refused the refund before the split: {refused}")
        if o.oversplit:
            over = o.amount - o.pre_refund - sum(s[3] for s in o.shares) + o.rng.randint(1, o.pre_refund)
            answer = yield from merchant(o.app, "/unipay/allocation/start",
                                         self.start_fields(o, f"X{self.run}{o.i:05d}", over))
            if answer.ok:
                VIOLATIONS.add("start above splittable accepted", repr(o),
                               f"a start of {over} fen more than is left after a refund of {o.pre_refund} "
                               f"was accepted as {answer.data.get('allocationNo')} ({answer.data.get('status')})")
            else:
                o.note(f"the start above what is left was refused: {answer.msg}")
        # the start, perhaps with a rival on the same pay order at the same moment
        rival = None
        if o.rival:
            rival = {"answer": None}
            fields = self.start_fields(o, f"Y{self.run}{o.i:05d}")

            def race():
                attempt = 0
                while not self.stopping:
                    a = merchant_once(o.app, "/unipay/allocation/start", fields)
                    if a.kind != "unclear":
                        rival["answer"] = a
                        return
                    attempt += 1
                    time.sleep(backoff(attempt))

            rival["thread"] = threading.Thread(target=race, daemon=True)
            rival["thread"].start()
        answer = yield from merchant(o.app, "/unipay/allocation/start", self.start_fields(o, o.biz_alloc))
        if rival:
            while rival["thread"].is_alive():
                yield 0.5
            theirs = rival["answer"]
            if answer.ok and theirs is not None and theirs.ok:
                VIOLATIONS.add("two starts accepted", repr(o),
                               f"{o.biz_alloc} -> {answer.data.get('allocationNo')} and the rival -> "
                               f"{theirs.data.get('allocationNo')} on one pay order")
            elif not answer.ok and theirs is not None and theirs.ok:
                o.note(f"the rival start won ({theirs.data.get('allocationNo')}); ours: {answer.msg}")
                answer = theirs
        if not answer.ok:
            # judged by the checker, which sees whether the store made it all the same
            o.refused_start = answer.msg
            o.note(f"the start was refused: {answer.msg}")
            return
        o.alloc = answer.data["allocationNo"]
        o.status = answer.data.get("status")
        o.note(f"started: {o.status}")
        if o.double_start:
            again = yield from merchant(o.app, "/unipay/allocation/start",
                                        self.start_fields(o, f"Z{self.run}{o.i:05d}"))
            if again.ok:
                VIOLATIONS.add("two starts accepted", repr(o),
                               f"a second start of the pay order was accepted as {again.data.get('allocationNo')}")
        if o.status in ("allocation_failed", "ignore"):
            VIOLATIONS.add("start failed", repr(o), f"the start answered {o.status}")
            return
        # the channel settles the split once it has it
        outcomes = {}
        if o.failing:
            account = next(s[2] for s in o.shares if s[0] == o.failing)
            if o.channel == "ali_pay":
                outcomes[account] = {"fail": {"code": "RECEIVE_ACCOUNT_ERROR", "desc": "收款账户异常"}}
            else:
                outcomes[account] = {"closed": {"fail_reason": "ACCOUNT_ABNORMAL"}}
        polls = 0
        while True:
            state = self.complete(o, o.alloc, outcomes)
            if state != "absent":
                break
            polls += 1
            # the split never reached the channel: a sync sends it again
            yield from self.pause(o, polls, sync_every=4, secs=2.0)
        o.note(f"settled at the channel ({state})")
        yield from merchant(o.app, "/unipay/sync/allocation", {"allocationNo": o.alloc})
        # the order ends
        polls = 0
        while True:
            data = yield from self.query(o)
            if data is None:
                return
            if o.status not in ("allocation_processing",):
                break
            polls += 1
            yield from self.pause(o, polls, sync_every=5, secs=3.0)
        o.note(f"ended: {o.status} {data.get('result')}")
        if o.status in ("allocation_failed", "ignore"):
            VIOLATIONS.add("order failed", repr(o), f"the order ended {o.status}: {data.get('errorMsg')}")
            return
        # the finish: by hand (shop-2), racing the auto finish (some), or automatic
        sent = False
        while o.status != "finish":
            if o.status in ("allocation_end", "finish_failed") and (o.app.manual_finish or (o.race_finish and not sent)):
                answer = yield from merchant(o.app, "/unipay/allocation/finish", {"allocationNo": o.alloc})
                sent = True
                o.note(f"finish sent: {answer.data.get('status') if answer.ok else answer.msg}")
                yield 1.0
            else:
                yield 3.0 + o.rng.random() * 2
            data = yield from self.query(o)
            if data is None:
                return
        o.note("finished")
        if o.channel == "ali_pay":
            # Alipay settles the finish request too, and notifies us
            for _ in range(20):
                if self.complete(o, o.alloc + "F", {}) != "absent":
                    break
                yield 3.0
        # returns: money back from receivers that got their share
        succeeded = {d["receiverNo"]: d for d in data.get("details", []) if d.get("result") == "success"}
        if o.return_plan and succeeded:
            yield from self.returns(o, succeeded)
        if o.post_refund:
            kept = o.amount - o.refunded - sum(d["amount"] for d in succeeded.values())
            kept += sum(r["amount"] for r in o.returns if r.get("status") == "return_success")
            if kept > 0:
                refused = yield from self.refund(o, o.rng.randint(1, kept))
                if refused:
                    raise RuntimeError(f"the channel refused a refund of the merchant's part: {refused}")
        # the gateway's late duplicate of the payment notice: never undoes the allocation
        if o.dup_feed:
            yield from self.feed_pay(o)
        o.note("story done")

    def returns(self, o, succeeded):
        candidates = [s for s in o.shares if s[0] in succeeded and (o.channel == "ali_pay" or s[1] == "wx_merchant")]
        if not candidates:
            return
        no, kind, account, got = o.rng.choice(candidates)
        returned = 0
        for k in range(o.rng.choice([1, 1, 2])):
            left = got - returned
            if left < 1:
                break
            amount = o.rng.randint(1, left) if k == 0 else left
            ret = yield from self.one_return(o, no, kind, account, amount, k)
            if ret is None:
                return
            returned += amount
        if o.rng.random() < 0.3:
            # one above what is left: must be refused
            over = got - returned + o.rng.randint(1, 500)
            fields = {"bizReturnNo": f"RX{self.run}{o.i:05d}", "allocationNo": o.alloc, "receiverNo": no,
                      "amount": over, "description": "chaos", "notifyUrl": o.notify_url()}
            answer = yield from merchant(o.app, "/unipay/allocation/return", fields)
            if answer.ok:
                VIOLATIONS.add("return above what is left accepted", repr(o),
                               f"a return of {over} from {no}, which got {got} and returned {returned}, was "
                               f"accepted as {answer.data.get('returnNo')}")

    def one_return(self, o, no, kind, account, amount, k):
        biz = f"R{self.run}{o.i:05d}{k}"
        biz_refund = f"BR{self.run}{o.i:05d}{k}"
        fields = {"bizReturnNo": biz, "allocationNo": o.alloc, "receiverNo": no, "amount": amount,
                  "description": "chaos", "notifyUrl": o.notify_url()}
        if o.channel == "ali_pay":
            fields["bizRefundNo"] = biz_refund
        answer = yield from merchant(o.app, "/unipay/allocation/return", fields)
        if not answer.ok:
            # judged by the checker, which sees whether the store made it all the same
            o.refused_returns.append((biz, no, amount, answer.msg))
            o.note(f"return {biz} of {amount} from {no} refused: {answer.msg}")
            return None
        ret = {"biz": biz, "returnNo": answer.data.get("returnNo"), "receiverNo": no, "amount": amount,
               "status": answer.data.get("status")}
        o.returns.append(ret)
        o.note(f"return {ret['returnNo']} of {amount} from {no}: {ret['status']}")
        if o.channel == "ali_pay":
            rows = answer.data.get("refundRoyaltyParameters") or []
            royalty = [{"trans_out_type": r.get("trans_out_type", "userId"), "trans_out": account,
                        "amount_fen": round(float(r["amount"]) * 100)} for r in rows]
            refused = yield from self.refund(o, amount, royalty, biz_refund)
            if refused:
                VIOLATIONS.add("return plan refused at the channel", repr(o),
                               f"the refund carrying return {ret['returnNo']}'s plan {rows} was refused: {refused}")
                return None
        while ret["status"] not in ("return_success", "return_failed"):
            yield 3.0 + o.rng.random() * 2
            answer = yield from merchant(o.app, "/unipay/query/allocationReturn", {"returnNo": ret["returnNo"]})
            if answer.ok:
                ret["status"] = answer.data.get("status")
        o.note(f"return {ret['returnNo']}: {ret['status']}")
        if ret["status"] != "return_success":
            return None
        if o.channel == "wechat_pay":
            refused = yield from self.refund(o, amount)
            if refused:
                raise RuntimeError(f"the channel refused the refund after a return: {refused}")
        return ret


# --- The loop running the stories ------------------------------------------------------------


class Loop:
    """Runs generators (stories) on a pool of threads: each `yield SECONDS` puts the story back
    to be resumed that much later. At most `inflight` stories at once; the next begins when one
    ends."""

    def __init__(self, threads, inflight, make_story, on_error):
        self.cv = threading.Condition()
        self.heap = []
        self.seq = itertools.count()
        self.threads = threads
        self.inflight = inflight
        self.make_story = make_story
        self.on_error = on_error
        self.pending = []  # orders not begun yet
        self.active = 0
        self.stopped = False
        self.last_begun = time.monotonic()

    def submit_all(self, orders):
        with self.cv:
            self.pending = list(orders)
            self.pending.reverse()
            while self.pending and self.active < self.inflight:
                self._begin()
            self.cv.notify_all()

    def _begin(self):
        o = self.pending.pop()
        self.active += 1
        self.last_begun = time.monotonic()
        heapq.heappush(self.heap, (time.monotonic() + random.random(), next(self.seq), o, self.make_story(o)))

    def idle(self):
        with self.cv:
            return self.active == 0 and not self.pending

    def all_begun(self):
        with self.cv:
            return not self.pending

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify_all()

    def worker(self):
        while True:
            with self.cv:
                while True:
                    if self.stopped:
                        return
                    now = time.monotonic()
                    if self.heap and self.heap[0][0] <= now:
                        _, _, o, story = heapq.heappop(self.heap)
                        break
                    self.cv.wait(timeout=(self.heap[0][0] - now) if self.heap else 1.0)
            try:
                delay = next(story)
                with self.cv:
                    heapq.heappush(self.heap, (time.monotonic() + max(0.0, delay), next(self.seq), o, story))
                    self.cv.notify()
            except StopIteration:
                self._ended(o)
            except Exception:  # noqa: BLE001 - a driver failure is reported, never hidden
                self.on_error(o, traceback.format_exc())
                self._ended(o)

    def _ended(self, o):
        o.done = True
        with self.cv:
            self.active -= 1
            while self.pending and self.active < self.inflight:
                self._begin()
            self.cv.notify_all()

    def start(self):
        for _ in range(self.threads):
            threading.Thread(target=self.worker, daemon=True).start()


# --- The store and the queues (boto3) --------------------------------------------------------


def aws(service):
    import boto3

    return boto3.client(service, endpoint_url=E["EMULATOR_URL"], region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def plain(value):
    (kind, v), = value.items()
    if kind == "S":
        return v
    if kind == "N":
        return int(v) if re.fullmatch(r"-?\d+", v) else float(v)
    if kind == "BOOL":
        return v
    if kind == "NULL":
        return None
    if kind == "L":
        return [plain(x) for x in v]
    if kind == "M":
        return {k: plain(x) for k, x in v.items()}
    return v


def scan_table():
    db = aws("dynamodb")
    items, kwargs = [], {}
    while True:
        page = db.scan(TableName=E["TABLE_NAME"], **kwargs)
        items += [{k: plain(v) for k, v in item.items()} for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


DUE_KINDS = ("sync", "finish", "auto_allocate", "notify", "return_sync")


def due_now():
    """How many items carry due work of each kind (not the freeze deadlines, weeks away)."""
    db = aws("dynamodb")
    counts = {}
    for kind in DUE_KINDS:
        n, kwargs = 0, {}
        while True:
            page = db.query(TableName=E["TABLE_NAME"], IndexName="due", Select="COUNT",
                            KeyConditionExpression="duePk = :p", ExpressionAttributeValues={":p": {"S": f"DUE#{kind}"}},
                            **kwargs)
            n += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if n:
            counts[kind] = n
    return counts


def queue_depth(sqs, url):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])
    return sum(int(v) for v in attrs["Attributes"].values())


def dlq_messages(sqs):
    url = sqs.get_queue_url(QueueName="allocation-local-dlq")["QueueUrl"]
    messages, seen = [], set()
    for _ in range(200):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=120, WaitTimeSeconds=0)
        batch = got.get("Messages", [])
        if not batch:
            break
        for m in batch:
            if m["MessageId"] not in seen:
                seen.add(m["MessageId"])
                messages.append(m)
    return messages


# --- The checks ------------------------------------------------------------------------------


def scope(pk):
    if pk.startswith("APP#"):
        app, _, rest = pk[4:].partition("#")
        return app, rest
    return E.get("DEFAULT_APP_ID", "default"), pk


class Check:
    def __init__(self, driver, expect_split_limit=1, violations=VIOLATIONS):
        self.driver = driver
        self.limit = expect_split_limit
        self.v = violations

    def load(self):
        self.items = scan_table()
        self.pay = {}  # (app, orderNo) -> item
        self.orders = {}  # (app, allocationNo) -> item
        self.by_alloc = {}  # allocationNo -> (app, item)
        self.returns = {}  # (app, allocationNo) -> [items]
        self.tallies = {}  # (app, allocationNo, receiverNo) -> item
        self.refunds = {}  # (app, orderNo) -> [items]
        self.notices = {}  # (app, allocationNo) -> {sk: item}
        for it in self.items:
            app, rest = scope(it["pk"])
            t, sk = it.get("type"), it["sk"]
            if t == "pay_order":
                self.pay[(app, it["orderNo"])] = it
            elif t == "allocation_order":
                self.orders[(app, it["allocationNo"])] = it
                self.by_alloc[it["allocationNo"]] = (app, it)
            elif t == "return":
                self.returns.setdefault((app, it["allocationNo"]), []).append(it)
            elif t == "returned":
                self.tallies[(app, rest[len("ALLOC#"):], it["receiverNo"])] = it
            elif t == "refund":
                self.refunds.setdefault((app, it["orderNo"]), []).append(it)
            elif sk.startswith("NOTICE#") and rest.startswith("ALLOC#"):
                self.notices.setdefault((app, rest[len("ALLOC#"):]), {})[sk] = it
        self.alipay = control("GET", E["SIM_URL"] + "/__sim/ledger")[1]["trades"]
        self.wechat = control("GET", E["WX_URL"] + "/__sim/ledger")[1]["transactions"]
        self.deliveries = control("GET", E["SINK_URL"] + "/deliveries")[1]

    @staticmethod
    def details(order):
        rows = json.loads(order.get("details") or "[]")
        return [{"receiverNo": r[0], "amount": r[1], "type": r[3], "account": r[4], "result": r[5]} for r in rows]

    def run(self, dlq):
        self.channel_ledgers()
        self.store_orders()
        self.store_returns()
        self.refund_totals()
        self.notice_deliveries()
        self.dead_letters(dlq)

    # channel: splits, amounts, agreement with the store
    def channel_splits(self):
        """[(channel, trade, owner, paid, refunded, [splits], finishes, net, raw)] with each split
        {request_no, receivers: {(type, account): (amount, state)}}."""
        out = []
        for t in self.alipay:
            splits, finishes = [], []
            processing = 0
            for s in t["settles"]:
                if s["details"]:
                    recv = {}
                    for d in s["details"]:
                        recv[(d["trans_in_type"], d["trans_in"])] = (d["amount_fen"], d["state"])
                        if d["state"] == "PROCESSING":
                            processing += d["amount_fen"]
                    splits.append({"request_no": s["out_request_no"], "receivers": recv})
                if s["finish"]:
                    finishes.append(s["out_request_no"])
            net = sum(h["holding_fen"] or 0 for h in t["holdings"]) + processing
            holdings = {(h["trans_in_type"], h["trans_in"]): h["holding_fen"] for h in t["holdings"]}
            out.append(("ali_pay", t["trade_no"], t["owner"], t["paid_fen"], t["refunded_fen"], splits, finishes,
                        net, holdings))
        for t in self.wechat:
            splits, finishes = [], []
            net = 0
            for o in t["orders"]:
                if o["kind"] == "unfreeze":
                    finishes.append(o["out_order_no"])
                    continue
                recv = {}
                for r in o["receivers"]:
                    recv[(r["type"], r["account"])] = (r["amount"], r["result"])
                    if r["result"] in ("SUCCESS", "PENDING"):
                        net += r["amount"]
                splits.append({"request_no": o["out_order_no"], "receivers": recv})
            returned = {}
            for r in t["returns"]:
                if r["result"] in ("SUCCESS", "PROCESSING"):
                    net -= r["amount"]
                    key = (r["out_order_no"], r["return_mchid"])
                    returned[key] = returned.get(key, 0) + r["amount"]
            out.append(("wechat_pay", t["transaction_id"], t["owner"], t["paid_fen"], t["refunded_fen"], splits,
                        finishes, net, returned))
        return out

    def channel_ledgers(self):
        driven = {o.trade: o for o in self.driver.orders}
        self.splits_by_request = {}
        self.finishes_of = {}
        for channel, trade, owner, paid, refunded, splits, finishes, net, extra in self.channel_splits():
            o = driven.get(trade)
            subject = f"{channel} trade {trade}" + (f" ({o!r})" if o else "")
            if len(splits) > self.limit:
                self.v.add("split twice at the channel", subject,
                           f"{len(splits)} split requests executed: {[s['request_no'] for s in splits]}")
            if paid is not None and net > paid - (refunded or 0):
                self.v.add("split beyond paid minus refunded", subject,
                           f"receivers hold {net} fen of a trade paid {paid} and refunded {refunded}")
            for s in splits:
                self.splits_by_request[s["request_no"]] = (channel, trade, s)
                found = self.by_alloc.get(s["request_no"])
                if found is None:
                    self.v.add("split unknown to the store", subject,
                               f"the channel executed split {s['request_no']} ({s['receivers']}) and the store has no "
                               "such order")
                    continue
                app, order = found
                if order.get("outOrderNo") != trade:
                    self.v.add("split of another trade", subject,
                               f"order {s['request_no']} is of trade {order.get('outOrderNo')}")
                self.agree(app, order, channel, s, subject)
            if channel == "wechat_pay":
                # every return at most what its receiver got in that order
                for (order_no, mchid), amount in extra.items():
                    split = next((s for s in splits if s["request_no"] == order_no), None)
                    got = split["receivers"].get(("MERCHANT_ID", mchid), (0, ""))[0] if split else 0
                    if amount > got:
                        self.v.add("return beyond what the receiver got", subject,
                                   f"returns of {amount} from {mchid} in {order_no}, which got {got}")
            else:
                for (kind, account), holding in extra.items():
                    if holding is not None and holding < 0:
                        self.v.add("return beyond what the receiver got", subject,
                                   f"{kind} {account} holds {holding} after refunds took its share back")
            for f in finishes:
                self.finishes_of[f] = trade

    def agree(self, app, order, channel, split, subject):
        """The store's order and the channel's split say the same."""
        no = order["allocationNo"]
        status = order.get("status")
        if status == "allocation_failed":
            self.v.add("failed order split at the channel", subject,
                       f"order {no} is allocation_failed (pay order released) but the channel executed its split "
                       f"{split['receivers']}")
            return
        ours = {}
        for d in self.details(order):
            if d["result"] == "ignore":
                continue
            ours[(channel_type(d["type"]), d["account"])] = (d["amount"], d["result"])
        theirs = split["receivers"]
        if {k: v[0] for k, v in ours.items()} != {k: v[0] for k, v in theirs.items()}:
            self.v.add("split differs from the order", subject,
                       f"order {no} details {ours}, the channel's split {theirs}")
            return
        done = {"SUCCESS": "success", "FAIL": "fail", "CLOSED": "fail"}
        for key, (amount, result) in ours.items():
            state = theirs[key][1]
            if state in done and result != done[state] and status not in ("allocation_processing",):
                self.v.add("detail result differs from the channel", subject,
                           f"order {no} ({status}) says {key[1]} {result}, the channel {state}")

    def store_orders(self):
        finishes = self.finishes_of
        manual = {a.id for a in self.driver.apps if a.manual_finish}
        live_per_pay = {}
        for (app, no), order in self.orders.items():
            status = order.get("status")
            subject = f"{app} order {no} ({order.get('channel')}, pay order {order.get('orderNo')})"
            if status != "allocation_failed":
                live_per_pay.setdefault((app, order.get("orderNo")), []).append(no)
            flagged = bool(order.get("flagged"))
            # an order ended in an app that finishes by hand waits for its merchant, as it should
            terminal = status in ("finish", "allocation_failed", "ignore") or (
                status == "allocation_end" and app in manual)
            if not terminal and not flagged:
                if order.get("duePk"):
                    self.v.add("order not converged", subject,
                               f"still {status} ({order.get('result')}), due {order.get('duePk')} at "
                               f"{order.get('dueAt')}, {order.get('syncAttempts')} syncs")
                else:
                    self.v.add("order wedged", subject, f"{status} ({order.get('result')}) with no due work and not flagged")
            if status == "finish":
                mark = no + "F"
                if mark not in finishes:
                    self.v.add("finish missing at the channel", subject,
                               f"the order is finish but the channel has no finish request {mark}")
            if status in ("finish", "allocation_end", "finish_failed") and no not in self.splits_by_request:
                if any(d["result"] != "ignore" for d in self.details(order)):
                    self.v.add("order without a split at the channel", subject,
                               f"the order is {status} but the channel executed no split {no}")
        for (app, pay_no), live in live_per_pay.items():
            if len(live) > 1:
                self.v.add("pay order allocated twice", f"{app} pay order {pay_no}", f"live orders {live}")
        for (app, pay_no), pay in self.pay.items():
            mark = pay.get("allocationNo")
            if not mark:
                continue
            order = self.orders.get((app, mark))
            if order is None:
                self.v.add("pay order taken by no live order", f"{app} pay order {pay_no}",
                           f"marked allocated by {mark}, which the store does not hold")
            elif order.get("status") == "allocation_failed":
                self.v.add("pay order taken by no live order", f"{app} pay order {pay_no}",
                           f"marked allocated by {mark}, which is allocation_failed")
        # every order the driver started is in the store; every pay order it fed too
        claims = {(app, order.get("bizAllocationNo")): no for (app, no), order in self.orders.items()}
        for o in self.driver.orders:
            if o.refused_start is not None:
                made = claims.get((o.app.id, o.biz_alloc))
                if made:
                    order = self.orders[(o.app.id, made)]
                    self.v.add("start refused but made", repr(o),
                               f"the start {o.biz_alloc} was refused ({o.refused_start}), yet the store holds its "
                               f"order {made} ({order.get('status')})")
                else:
                    self.v.add("start refused", repr(o), f"the start {o.biz_alloc} was refused: {o.refused_start}")
            if (o.app.id, o.no) not in self.pay and o.fed:
                self.v.add("pay order lost", repr(o), "the feed answered SUCCESS but the store has no pay order")
            if o.alloc and (o.app.id, o.alloc) not in self.orders:
                self.v.add("order lost", repr(o), "the start answered this allocationNo; the store has no such order")

    def store_returns(self):
        made = {(app, r.get("bizReturnNo")): r for (app, _), items in self.returns.items() for r in items}
        for o in self.driver.orders:
            for biz, receiver, amount, msg in o.refused_returns:
                r = made.get((o.app.id, biz))
                if r is not None:
                    self.v.add("return refused but made", repr(o),
                               f"return {biz} of {amount} from {receiver} was refused ({msg}), yet the store holds it "
                               f"as {r['returnNo']} ({r.get('status')})")
                else:
                    self.v.add("return refused", repr(o), f"return {biz} of {amount} from {receiver} was refused: {msg}")
        for (app, no), items in self.returns.items():
            order = self.orders.get((app, no))
            details = {d["receiverNo"]: d for d in self.details(order)} if order else {}
            held = {}
            for r in items:
                subject = f"{app} return {r['returnNo']} of order {no}"
                status = r.get("status")
                if status not in ("return_success", "return_failed"):
                    if r.get("duePk"):
                        self.v.add("return not converged", subject, f"still {status}, due at {r.get('dueAt')}")
                    else:
                        self.v.add("return wedged", subject, f"{status} with no due work")
                if status != "return_failed":
                    held[r["receiverNo"]] = held.get(r["receiverNo"], 0) + r["amount"]
                d = details.get(r["receiverNo"])
                got = d["amount"] if d and d["result"] == "success" else 0
                if r["amount"] > got:
                    self.v.add("return beyond what the receiver got", subject,
                               f"{r['amount']} from {r['receiverNo']}, which got {got}")
                if r.get("channel") == "wechat_pay" and status == "return_success":
                    ok = any(rr["out_return_no"] == r["returnNo"] and rr["result"] == "SUCCESS" and
                             rr["amount"] == r["amount"]
                             for t in self.wechat for rr in t["returns"])
                    if not ok:
                        self.v.add("return not at the channel", subject,
                                   "return_success in the store, no such successful return at the channel")
            for receiver, amount in held.items():
                d = details.get(receiver)
                got = d["amount"] if d and d["result"] == "success" else 0
                if amount > got:
                    self.v.add("returns beyond what the receiver got", f"{app} order {no}",
                               f"returns of {amount} from {receiver}, which got {got}")
                tally = self.tallies.get((app, no, receiver))
                if tally is None or tally.get("returned") != amount:
                    self.v.add("return tally differs", f"{app} order {no}",
                               f"returns holding {amount} from {receiver}, tally {tally and tally.get('returned')}")
        # Alipay: what each receiver still holds at the channel is what the store says it kept
        holdings = {t["trade_no"]: {(h["trans_in_type"], h["trans_in"]): h["holding_fen"] for h in t["holdings"]}
                    for t in self.alipay}
        for (app, no), order in self.orders.items():
            if order.get("channel") != "ali_pay" or order.get("status") not in ("finish", "allocation_end"):
                continue
            trade = holdings.get(order.get("outOrderNo"), {})
            returned = {}
            for r in self.returns.get((app, no), []):
                if r.get("status") == "return_success":
                    returned[r["receiverNo"]] = returned.get(r["receiverNo"], 0) + r["amount"]
            kept = {}
            for d in self.details(order):
                if d["result"] == "success":
                    key = (channel_type(d["type"]), d["account"])
                    kept[key] = kept.get(key, 0) + d["amount"] - returned.get(d["receiverNo"], 0)
            for key, amount in kept.items():
                if trade.get(key) != amount:
                    self.v.add("holding differs from the store", f"{app} order {no} (trade {order.get('outOrderNo')})",
                               f"{key[1]} holds {trade.get(key)} at the channel, the store says it kept {amount}")

    def refund_totals(self):
        channel = {t["trade_no"]: t["refunded_fen"] for t in self.alipay}
        channel.update({t["transaction_id"]: t["refunded_fen"] for t in self.wechat})
        for (app, no), pay in self.pay.items():
            refunds = self.refunds.get((app, no), [])
            subject = f"{app} pay order {no} (trade {pay.get('outOrderNo')})"
            done = sum(r["amount"] for r in refunds if r.get("status") == "success")
            if pay.get("refunded", 0) != done:
                self.v.add("refunded differs from refunds", subject,
                           f"the pay order says {pay.get('refunded', 0)}, its refunds {done}")
            at_channel = channel.get(pay.get("outOrderNo"))
            if at_channel is not None and at_channel != pay.get("refunded", 0):
                self.v.add("refunded differs from the channel", subject,
                           f"the store says {pay.get('refunded', 0)}, the channel {at_channel}")

    def notice_deliveries(self):
        delivered = set()
        for d in self.deliveries:
            body = d.get("body")
            if d.get("status") != 200 or not isinstance(body, dict):
                continue
            subject = body.get("allocationNo") or body.get("allocNo")
            status = body.get("status")
            if status in ("return_success", "return_failed"):
                status = f"{status}#{body.get('returnNo')}"
            delivered.add((subject, status))
        for (app, no), order in self.orders.items():
            notices = self.notices.get((app, no), {})
            expected = []
            status = order.get("status")
            if status == "finish":
                expected = ["allocation_end", "finish"]
            elif status in ("allocation_end", "allocation_failed", "finish_failed", "ignore"):
                expected = [status]
            for r in self.returns.get((app, no), []):
                if r.get("status") in ("return_success", "return_failed"):
                    expected.append(f"{r['status']}#{r['returnNo']}")
            for topic in expected:
                sk = f"NOTICE#{topic}"
                if sk not in notices:
                    self.v.add("notice missing", f"{app} order {no}", f"no {topic} notice in the store ({status})")
                elif (no, topic) not in delivered:
                    n = notices[sk]
                    self.v.add("notice not delivered", f"{app} order {no}",
                               f"{topic}: never answered SUCCESS at the sink ({n.get('attemptCount')} attempts, "
                               f"delivered={n.get('delivered')}, next at {n.get('nextAt')}, due {n.get('dueAt')})")
            for sk, n in notices.items():
                if n.get("delivered"):
                    if (no, n.get("status")) not in delivered:
                        self.v.add("notice delivered without a delivery", f"{app} order {no}",
                                   f"{n.get('status')} is marked delivered, the sink never answered it SUCCESS")
                    continue
                gave_up = n.get("attemptCount", 0) >= n.get("maxAttempts", 16)
                if gave_up:
                    continue
                if n.get("duePk"):
                    self.v.add("notice not converged", f"{app} order {no}",
                               f"{n.get('status')}: undelivered after {n.get('attemptCount')} attempts, next at "
                               f"{n.get('nextAt')}")
                else:
                    self.v.add("notice wedged", f"{app} order {no}",
                               f"{n.get('status')}: neither delivered nor given up ({n.get('attemptCount')} attempts) "
                               "and no due work")

    def callback_explained(self, job):
        """Why a channel notification's dead letter lost nothing: the order it reports has ended
        (through its syncs). Alipay's name their settle request; WeChat Pay's are sealed, and
        every order is checked against the channel anyway."""
        if job.get("channel") != "ali_pay":
            return "a WeChat Pay notification (every order is checked against the channel)"
        form = urllib.parse.parse_qs(job.get("body") or "")
        try:
            no = json.loads(form.get("biz_content", ["{}"])[0]).get("out_request_no") or ""
        except ValueError:
            return None
        found = self.by_alloc.get(no) or self.by_alloc.get(no[:-1] if no.endswith("F") else no)
        if found is None:
            return None
        status = found[1].get("status")
        if status == "allocation_processing":
            return None
        return f"Alipay's notification of settle {no}, whose order is {status}"

    def dead_letters(self, messages):
        for m in messages:
            try:
                job = json.loads(m["Body"])
            except ValueError:
                self.v.add("dead letter", m["MessageId"], f"not a job: {m['Body'][:200]}")
                continue
            app = job.get("app") or E.get("DEFAULT_APP_ID", "default")
            kind = job.get("kind")
            no = job.get("allocationNo")
            why = None
            if kind == "channel_callback":
                why = self.callback_explained(job)
            elif no and (app, no) in self.orders:
                order = self.orders[(app, no)]
                status = order.get("status")
                if kind == "notify":
                    topic = job.get("status") + (f"#{job['returnNo']}" if job.get("returnNo") else "")
                    n = self.notices.get((app, no), {}).get(f"NOTICE#{topic}")
                    if n and n.get("delivered"):
                        why = f"notice {topic} of {no}, delivered by another attempt"
                elif kind == "sync_return":
                    r = next((r for r in self.returns.get((app, no), []) if r["returnNo"] == job.get("returnNo")), None)
                    if r and r.get("status") in ("return_success", "return_failed"):
                        why = f"return {job.get('returnNo')} is {r.get('status')}"
                elif status in ("finish", "allocation_failed", "ignore"):
                    why = f"{kind} of {no}, which is {status}"
            line = f"{json.dumps(job, ensure_ascii=False)[:300]}"
            if why:
                say(f"  dead letter explained: {why}: {line}")
            else:
                self.v.add("dead letter unexplained", m["MessageId"], f"{line} (its work is not done)")


# --- Injected inconsistencies (proving the checker can fail) ---------------------------------


# What each planted inconsistency must give (every kind listed).
PLANTED = {
    "overrefund": {"refunded differs from the channel"},
    "wedge": {"order wedged", "notice wedged"},
    "lose": {"order lost"},
    "expect": {"split twice at the channel"},
    "undelivered": {"notice not delivered"},
    "deadletter": {"dead letter unexplained"},
}


class Planted:
    """What `inject` planted: the kinds, the allocationNo whose sink deliveries the checker is to
    overlook, and dead letters to add to the DLQ's."""

    def __init__(self):
        self.kinds = set()
        self.unseen = None
        self.dead_letters = []

    def check(self, driver, violations, dlq):
        """A check of everything with what was planted."""
        check = Check(driver, expect_split_limit=0 if "expect" in self.kinds else 1, violations=violations)
        check.load()
        if self.unseen:
            check.deliveries = [d for d in check.deliveries if not (
                isinstance(d.get("body"), dict) and d["body"].get("allocationNo") == self.unseen)]
        check.run(dlq + self.dead_letters)
        return check


def inject(kinds, driver):
    """Plants the inconsistencies `kinds` names where there is something to plant them on
    (`Planted`)."""
    planted = Planted()
    db = aws("dynamodb")
    table = E["TABLE_NAME"]
    finished = [o for o in driver.orders if o.alloc and o.status == "finish"]
    say(f"injecting inconsistencies to check the checker: {', '.join(kinds)}")

    def key(o, sk):
        pk = ("" if o.app.index == 0 else f"APP#{o.app.id}#") + f"ALLOC#{o.alloc}"
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    if "overrefund" in kinds:
        for channel in ("ali_pay", "wechat_pay"):
            o = next((o for o in finished if o.channel == channel), None)
            if o is None:
                continue
            left = o.amount - o.refunded
            refused = driver.channel_refund(o, f"INJ{driver.run}{o.i:05d}", left)
            say(f"  overrefund: refunded all that was left ({left}) of {o.trade} at the channel without a return"
                + (f" (refused: {refused})" if refused else ""))
            if not refused:
                planted.kinds.add("overrefund")
    if "wedge" in kinds and finished:
        o = finished[0]
        db.update_item(TableName=table, Key=key(o, "ORDER"),
                       UpdateExpression="SET #s = :s REMOVE duePk, dueAt",
                       ExpressionAttributeNames={"#s": "status"},
                       ExpressionAttributeValues={":s": {"S": "allocation_processing"}})
        db.update_item(TableName=table, Key=key(o, "NOTICE#finish"),
                       UpdateExpression="SET delivered = :f REMOVE duePk, dueAt",
                       ExpressionAttributeValues={":f": {"BOOL": False}})
        say(f"  wedge: order {o.alloc} set back to allocation_processing, its finish notice to undelivered, no due work")
        planted.kinds.add("wedge")
    if "lose" in kinds and len(finished) > 1:
        o = finished[-1]
        db.delete_item(TableName=table, Key=key(o, "ORDER"))
        say(f"  lose: order item {o.alloc} deleted from the store")
        planted.kinds.add("lose")
    if "undelivered" in kinds and len(finished) > 2:
        planted.unseen = finished[1].alloc
        say(f"  undelivered: the sink's deliveries of {planted.unseen}'s notices overlooked")
        planted.kinds.add("undelivered")
    if "expect" in kinds:
        planted.kinds.add("expect")
    if "deadletter" in kinds:
        # a job of an order the store does not hold, and Alipay's notification of a settle
        # request no order made
        biz = json.dumps({"out_request_no": f"DEVA{driver.run}PLANTED", "trade_no": "T0"})
        callback = {"kind": "channel_callback", "channel": "ali_pay",
                    "body": urllib.parse.urlencode({"msg_method": "alipay.trade.order.settle.notify",
                                                    "biz_content": biz})}
        for n, job in enumerate([{"kind": "sync", "allocationNo": f"DEVA{driver.run}PLANTED"}, callback]):
            planted.dead_letters.append({"MessageId": f"planted-{n}", "Body": json.dumps(job)})
            say(f"  deadletter: a dead letter {json.dumps(job)}")
        planted.kinds.add("deadletter")
    return planted


def self_check(driver):
    """After the real check: plants every inconsistency of PLANTED and checks again. Each must
    give the violations it should; one that cannot be planted, or goes unseen, is a violation of
    the run (a checker that cannot fail proves nothing)."""
    planted = inject(set(PLANTED), driver)
    seen = Violations(label="SELF-CHECK")
    planted.check(driver, seen, [])
    found = seen.kinds()
    for kind in sorted(PLANTED):
        if kind not in planted.kinds:
            VIOLATIONS.add("checker unproven", kind, f"the self-check found nothing to plant {kind} on")
            continue
        missing = PLANTED[kind] - found
        if kind == "deadletter":
            unexplained = sum(1 for k, _, _ in seen.items if k == "dead letter unexplained")
            if unexplained < len(planted.dead_letters):
                missing = {f"dead letter unexplained for each of {len(planted.dead_letters)}"}
        if missing:
            VIOLATIONS.add("checker blind", kind,
                           f"planted {kind}, and the checker reported no {', '.join(sorted(missing))}")
    say(f"self-check: planted {', '.join(sorted(planted.kinds))}; the checker reported {len(seen.items)} violations "
        f"({', '.join(sorted(found))})")


# --- Main ------------------------------------------------------------------------------------


def setup(apps):
    """Receivers for every app and channel, bound at the channel; shop-2 finishes by hand."""
    run = str(int(time.time()))
    for app in apps:
        for channel, pool in RECEIVERS.items():
            app.receivers[channel] = []
            for k, (kind, account) in enumerate(pool):
                no = f"S{run}{app.index}{channel[0]}{k}"
                fields = {"receiverNo": no, "channel": channel, "receiverType": kind, "receiverAccount": account,
                          "receiverName": "门店", "relationType": "STORE"}
                for attempt in range(20):
                    answer = merchant_once(app, "/unipay/allocation/receiver/add", fields)
                    if answer.ok:
                        break
                    if answer.refused:
                        raise RuntimeError(f"receiver {no} of {app.id} refused: {answer.msg}")
                    time.sleep(backoff(attempt))
                else:
                    raise RuntimeError(f"receiver {no} of {app.id}: no clear answer")
                app.receivers[channel].append((no, kind, account))
    manual = next((a for a in apps if a.id == "shop-2"), None)
    if manual:
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
                   ALLOC_URL=E["URL"], XDG_CONFIG_HOME=os.path.join(LOCAL_DIR, "no-alloc-config"))
        subprocess.run([os.path.join(ROOT, "target", "debug", "alloc"), "admin", "app", "settings", manual.id,
                        "autoFinish=false"], check=True, env=env, stdout=subprocess.DEVNULL)
        manual.manual_finish = True


def main():
    began = time.monotonic()
    args = argparse.ArgumentParser(description="chaos soak driver and checker (see the module docstring)")
    args.add_argument("orders", nargs="?", type=int, default=100)
    args.add_argument("--faults", type=float, default=0.0)
    args.add_argument("--crashes", type=float, default=0.0)
    args.add_argument("--dupes", type=float, default=0.0)
    args.add_argument("--seed", type=int, default=1)
    args.add_argument("--inflight", type=int, default=0, help="orders in progress at once (default by ORDERS)")
    args.add_argument("--threads", type=int, default=8)
    args.add_argument("--converge", type=float, default=0, help="seconds allowed to converge after healing")
    args.add_argument("--tail", type=float, default=180, help="seconds of chaos after the last order began")
    args.add_argument("--inject", default="", help=f"{','.join(PLANTED)} or all")
    opts = args.parse_args()
    for name in ("faults", "crashes", "dupes"):
        if not 0 <= getattr(opts, name) <= 1:
            args.error(f"--{name}: a rate from 0 to 1")
    random.seed(opts.seed)
    inflight = opts.inflight or max(4, min(48, opts.orders // 4))
    # At least the scheduler's lease (5 minutes) and a round more: work whose job was lost in the
    # chaos is found again only when the lease the scheduler took on it runs out.
    converge = opts.converge or min(600.0, 420 + 0.09 * opts.orders)
    injections = set(PLANTED) if opts.inject == "all" else set(k for k in opts.inject.split(",") if k)
    if injections - set(PLANTED):
        args.error(f"--inject: unknown {', '.join(sorted(injections - set(PLANTED)))}")

    apps = apps_from_env()
    say(f"chaos: {opts.orders} orders over apps {', '.join(a.id for a in apps)} on both channels; faults "
        f"{opts.faults:g}, crashes {opts.crashes:g}, duplicates {opts.dupes:g}, seed {opts.seed}; {inflight} at once")
    setup(apps)
    driver = Driver(opts, apps)
    driver.orders = [Order(driver, i) for i in range(opts.orders)]
    rss_start = rss_mb()

    rules = fault_rules(opts.faults)
    if rules:
        status, body = control("POST", E["EMULATOR_URL"] + "/__faults", {"seed": opts.seed, "rules": rules})
        if status != 200:
            raise SystemExit(f"the emulator refused the faults: {body}")
    status, body = control("POST", E["URL"] + "/__local/chaos", chaos_settings(opts.crashes, opts.dupes, opts.seed))
    if status != 200:
        raise SystemExit(f"the front door refused the chaos settings: {body}")
    say(f"injections on (emulator RSS {rss_start:.0f} MB)")

    def on_error(o, trace):
        VIOLATIONS.add("driver failure", repr(o), trace.strip().splitlines()[-1])
        log(trace)

    loop = Loop(opts.threads, inflight, driver.story, on_error)
    loop.start()
    chaos_began = time.monotonic()
    loop.submit_all(driver.orders)
    last_report = time.monotonic()
    while not loop.idle():
        time.sleep(1)
        now = time.monotonic()
        if now - last_report >= 30:
            last_report = now
            done = sum(1 for o in driver.orders if o.done)
            f, c = faults_status().get("totals", {}), chaos_status().get("totals", {})
            say(f"  {now - chaos_began:.0f} s: {done}/{opts.orders} stories done; {f.get('faults', 0)} faults, "
                f"{c.get('crashes', 0)} crashes, {c.get('duplicates', 0)} duplicates; emulator RSS {rss_mb():.0f} MB")
        if loop.all_begun() and now - loop.last_begun > opts.tail:
            break
    chaos_secs = time.monotonic() - chaos_began
    control("DELETE", E["EMULATOR_URL"] + "/__faults")
    control("DELETE", E["URL"] + "/__local/chaos")
    healed = time.monotonic()
    waiting = [o for o in driver.orders if not o.done]
    say(f"healed after {chaos_secs:.0f} s of chaos; {len(waiting)} stories still going; converging (at most "
        f"{converge:.0f} s)")

    sqs = aws("sqs")
    converged_after = None
    last_report = time.monotonic()
    last_due = 0.0
    while time.monotonic() - healed < converge:
        time.sleep(2)
        report = time.monotonic() - last_report >= 20
        if not loop.idle():
            if report:
                last_report = time.monotonic()
                stages = {}
                for o in driver.orders:
                    if not o.done:
                        stage = o.stage.split(":")[0][:40]
                        stages[stage] = stages.get(stage, 0) + 1
                say(f"  {time.monotonic() - healed:.0f} s after healing: {sum(stages.values())} stories going "
                    f"{stages}")
            continue
        if time.monotonic() - last_due < 5:
            continue
        last_due = time.monotonic()
        due = due_now()
        depth = queue_depth(sqs, E["QUEUE_URL"])
        if not due and depth == 0:
            converged_after = time.monotonic() - healed
            break
        if report:
            last_report = time.monotonic()
            say(f"  {time.monotonic() - healed:.0f} s after healing: due {due}, {depth} jobs queued")
    driver.stopping = True
    loop.stop()
    if converged_after is None:
        going = [o for o in driver.orders if not o.done]
        for o in going:
            VIOLATIONS.add("story not finished", repr(o), f"stuck at: {o.stage}")
        say(f"not converged {converge:.0f} s after healing")
    else:
        say(f"converged {converged_after:.0f} s after healing")

    planted = inject(injections, driver) if injections else Planted()
    say("checking the ledgers")
    dlq = dlq_messages(sqs)
    check = planted.check(driver, VIOLATIONS, dlq)
    if not injections:
        self_check(driver)

    faults = faults_status().get("totals", {})
    chaos = chaos_status().get("totals", {})
    rss_end = rss_mb()
    orders_in_store = len(check.orders)
    statuses = {}
    for order in check.orders.values():
        statuses[order.get("status")] = statuses.get(order.get("status"), 0) + 1
    say(f"store: {orders_in_store} orders {statuses}, {sum(len(r) for r in check.returns.values())} returns, "
        f"{sum(len(n) for n in check.notices.values())} notices; sink: {len(check.deliveries)} deliveries "
        f"({sum(1 for d in check.deliveries if d.get('status') != 200)} refused); DLQ: {len(dlq)} messages")
    say(f"driver: {json.dumps(STATS.counts, sort_keys=True)}")
    say(f"faults by kind: {json.dumps(faults.get('by_kind', {}), sort_keys=True)}; chaos: "
        f"{json.dumps({k: v for k, v in chaos.items() if not isinstance(v, dict)}, sort_keys=True)}")
    say(f"chaos for {chaos_secs:.0f} s; time to converge after healing: "
        + (f"{converged_after:.0f} s" if converged_after is not None else f"more than {converge:.0f} s"))
    wall = time.monotonic() - began
    total = f", {time.time() - int(os.environ['CHAOS_BEGAN']):.0f} s with the system's start" if os.environ.get(
        "CHAOS_BEGAN") else ""
    say(f"emulator RSS: {rss_start:.0f} MB at the start, {rss_end:.0f} MB at the end; wall time {wall:.0f} s{total}")
    if ANOMALIES.items:
        print(f"{len(ANOMALIES.items)} merchant-visible anomalies (not invariant violations: the driver asked again):")
        for where, what in ANOMALIES.items[:10]:
            print(f"anomaly: {where}: {what}")
    items = VIOLATIONS.items
    kinds = {}
    for kind, subject, detail in items:
        kinds[kind] = kinds.get(kind, 0) + 1
    for kind, subject, detail in items[:300]:
        print(f"violation: {kind}: {subject}: {detail}")
    if len(items) > 300:
        print(f"... and {len(items) - 300} more (all in {os.path.join(LOCAL_DIR, 'chaos-driver.log')})")
    if kinds:
        print(f"violations by kind: {json.dumps(kinds, ensure_ascii=False)}")
    write_stories(items)
    head = (f"chaos: {opts.orders} orders, {faults.get('faults', 0)} faults, {chaos.get('crashes', 0)} crashes, "
            f"{chaos.get('duplicates', 0)} duplicates")
    if items:
        print(f"{head}: {len(items)} violations", flush=True)
        sys.exit(1)
    print(f"{head}: invariants held", flush=True)


def write_stories(items):
    """For the first violating subjects, the lines of the local run's logs that name them."""
    numbers = []
    for _, subject, detail in items:
        for no in re.findall(r"\b[A-Z]{0,3}A\d{20,}\b|\bP\d{15}\b|\bT\d{15}\b", subject + " " + detail):
            if no not in numbers:
                numbers.append(no)
    numbers = numbers[:30]
    if not numbers:
        return
    path = os.path.join(LOCAL_DIR, "chaos-stories.log")
    with open(path, "w", encoding="utf-8") as out:
        for name in ("chaos-driver.log", "api.log", "worker.log", "scheduler.log", "alipay-sim.log",
                     "wechat-sim.log", "notices.log"):
            try:
                with open(os.path.join(LOCAL_DIR, name), encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if any(no in line for no in numbers):
                            out.write(f"{name}: {line.rstrip()[:600]}\n")
            except OSError:
                pass
    print(f"the logs' lines naming the first violating orders: {path}")


if __name__ == "__main__":
    main()
