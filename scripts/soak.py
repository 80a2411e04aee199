#!/usr/bin/env python3
"""Soak the running local system (scripts/run.sh): two merchants at once drive N orders each
through feed -> start -> channel settlement -> sync -> query (auto finish then runs in the
worker), on Alipay and WeChat Pay alternately. Prints the emulator's memory (RSS) and the start
latency (p50/p90) over the first and the last 10% of the orders, and whether every order got
to its final state.

Usage: scripts/soak.sh [ORDERS] [--minutes M] [--timeouts N]   (default 5000 orders; python3 only)
  --minutes M   keep going for M minutes instead (ORDERS is then only an upper bound)
  --timeouts N  every Nth order of each merchant meets a channel timeout on its split (the
                simulator holds the call; the client gives up after its 8 s timeout); such an
                order is settled once the scheduler's sync has sent the split again
At the end the local run's logs are searched for function timeouts (worker batches, scheduler
ticks) and front-door errors (HTTP 500): any of them fails the run.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

from daxpay_sign import signature

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env():
    values = {}
    with open(os.path.join(ROOT, ".local", "run.env"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            values[k] = v
    return values


E = env()
SECRET = E["SIGN_SECRET"]


def sign(body):
    """DaxPay's signature (HMAC_SHA256) of a body of scalars and lists of flat objects."""
    body["sign"] = signature(body, SECRET)
    return body


def post(url, body, raw=False):
    data = json.dumps(body, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read().decode()
    took = time.monotonic() - started
    return (text if raw else json.loads(text)), took


def merchant(path, body):
    body["reqTime"] = int(time.time())
    envelope, took = post(E["URL"] + path, sign(body))
    data = envelope.get("data") or {}
    if envelope.get("code") != 0 or data.get("code") != 0:
        raise RuntimeError(f"{path}: {json.dumps(envelope, ensure_ascii=False)}")
    return data, took


def rss_mb():
    with open(f"/proc/{E['EMULATOR_PID']}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


CHANNELS = {
    "ali_pay": {
        "seed": lambda t: post(E["SIM_URL"] + "/__sim/trades", {"trade_no": t, "amount_fen": 10000}, True),
        "settle": lambda t, no: post(
            E["SIM_URL"] + "/__sim/complete", {"trade_no": t, "out_request_no": no, "outcomes": {}}, True
        ),
        "receivers": [("ali_user_id", "2088000000000011"), ("ali_login_name", "staff@example.com")],
    },
    "wechat_pay": {
        "seed": lambda t: post(E["WX_URL"] + "/__sim/transactions", {"transaction_id": t, "amount_fen": 10000}, True),
        "settle": lambda t, no: post(
            E["WX_URL"] + "/__sim/complete", {"transaction_id": t, "out_order_no": no, "outcomes": {}}, True
        ),
        "receivers": [("wx_merchant", "1900000110"), ("wx_personal", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")],
    },
}


def setup(run):
    for channel, c in CHANNELS.items():
        for i, (kind, account) in enumerate(c["receivers"]):
            merchant("/unipay/allocation/receiver/add", {
                "receiverNo": f"S{run}{channel[:2]}{i}", "channel": channel, "receiverType": kind,
                "receiverAccount": account, "receiverName": "门店", "relationType": "STORE"})


INJECT = {
    "ali_pay": lambda: post(E["SIM_URL"] + "/__sim/inject",
                            {"method": "alipay.trade.order.settle", "fault": "timeout"}, True),
    "wechat_pay": lambda: post(E["WX_URL"] + "/__sim/inject",
                               {"op": "create_order", "fault": "timeout"}, True),
}


def order(run, m, i, latencies, errors, timeout_every=0, late=None):
    channel = "ali_pay" if i % 2 == 0 else "wechat_pay"
    c = CHANNELS[channel]
    no = f"K{run}M{m}N{i}"
    trade = f"2026{no}"
    timed_out = bool(timeout_every) and i % timeout_every == timeout_every - 1
    try:
        c["seed"](trade)
        notice = sign({"orderNo": no, "bizOrderNo": f"B{no}", "outOrderNo": trade, "title": "soak",
                       "channel": channel, "method": "qrcode", "amount": 10000, "status": "success",
                       "allocation": True, "autoAllocation": False, "payTime": int(time.time()),
                       "code": 0, "resTime": int(time.time())})
        text, _ = post(E["URL"] + "/feed/pay-order", notice, raw=True)
        if text != "SUCCESS":
            raise RuntimeError(f"feed: {text}")
        receivers = [{"receiverNo": f"S{run}{channel[:2]}{k}", "amount": a} for k, a in ((0, 6000), (1, 1500))]
        if timed_out:
            INJECT[channel]()
        data, took = merchant("/unipay/allocation/start",
                              {"bizAllocationNo": f"A{no}", "orderNo": no, "receivers": receivers})
        latencies[i] = took
        alloc = data["allocationNo"]
        if timed_out:
            # this split (or, as both merchants share the simulator, another order's of the same
            # channel) never reached the channel: the scheduler's sync sends it again
            late.append((channel, trade, alloc))
            return alloc
        try:
            c["settle"](trade, alloc)
        except urllib.error.HTTPError:
            # the timeout met this order's split instead: settled once it is sent again
            late.append((channel, trade, alloc))
            return alloc
        merchant("/unipay/sync/allocation", {"allocationNo": alloc})
        return alloc
    except Exception as e:  # noqa: BLE001 - counted and reported
        errors.append(f"{no}: {e}")
        return None


def percentile(values, p):
    values = sorted(v for v in values if v is not None)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


def log_problems():
    """Function timeouts (worker batches, scheduler ticks) and front-door errors (the local API
    Gateway answering 500) that the local run logged."""
    # the local runner's own line, "function `worker` timed out after 30s" (a channel call
    # that timed out is logged by our code differently, and is no problem: it is retried)
    checks = (
        ("worker.log", lambda line: "` timed out after" in line),
        ("scheduler.log", lambda line: "` timed out after" in line),
        ("api.log", lambda line: line.startswith("[local] ") and "-> 5" in line),
    )
    problems = []
    for name, bad in checks:
        try:
            with open(os.path.join(ROOT, ".local", name), encoding="utf-8", errors="replace") as f:
                problems += [f"{name}: {line.strip()[:200]}" for line in f if bad(line)]
        except OSError:
            pass
    return problems


def settle_late(late, errors):
    """Settles the timed-out orders whose split the scheduler has sent again."""
    still = []
    for channel, trade, alloc in late:
        try:
            CHANNELS[channel]["settle"](trade, alloc)
            merchant("/unipay/sync/allocation", {"allocationNo": alloc})
        except Exception:  # noqa: BLE001 - not re-sent yet: try again next round
            still.append((channel, trade, alloc))
    return still


def main():
    args = argparse.ArgumentParser()
    args.add_argument("orders", nargs="?", type=int, default=5000)
    args.add_argument("--minutes", type=float, default=0)
    args.add_argument("--timeouts", type=int, default=0)
    opts = args.parse_args()
    total = opts.orders if not opts.minutes else max(opts.orders, 1_000_000)
    per_merchant = total // 2
    until = time.monotonic() + opts.minutes * 60 if opts.minutes else None
    late = []
    run = str(int(time.time()))
    setup(run)
    rss_start = rss_mb()
    what = f"{opts.minutes:g} minutes" if until else f"{total} orders"
    extra = f", a channel timeout every {opts.timeouts} orders" if opts.timeouts else ""
    print(f"emulator RSS at the start: {rss_start:.0f} MB; {what}, two merchants at once{extra}",
          flush=True)
    latencies = [[None] * per_merchant for _ in range(2)]
    allocations = [[None] * per_merchant for _ in range(2)]
    errors = []
    began = time.monotonic()

    def drive(m):
        for i in range(per_merchant):
            if until and time.monotonic() > until:
                break
            allocations[m][i] = order(run, m, i, latencies[m], errors, opts.timeouts, late)
            if m == 0 and i and i % 500 == 0:
                print(f"  {2 * i} orders, emulator RSS {rss_mb():.0f} MB", flush=True)

    threads = [threading.Thread(target=drive, args=(m,)) for m in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    done = [sum(1 for x in latencies[m] if x is not None) for m in range(2)]
    total = sum(done)
    tenth = max(1, min(done) // 10)
    first = [x for m in range(2) for x in latencies[m][:tenth]]
    last = [x for m in range(2) for x in latencies[m][done[m] - tenth:done[m]]]
    rss_end = rss_mb()
    # every order ends: the worker's auto finish takes it to `finish`
    pending = [a for m in range(2) for a in allocations[m] if a]
    deadline = time.monotonic() + 600
    unfinished = pending
    while unfinished and time.monotonic() < deadline:
        late = settle_late(late, errors)
        still = []
        for a in unfinished:
            data, _ = merchant("/unipay/query/allocationOrder", {"allocationNo": a})
            if data["status"] != "finish":
                still.append(a)
        unfinished = still
        if unfinished:
            time.sleep(5)
    p50_first, p50_last = percentile(first, 0.5), percentile(last, 0.5)
    print(f"orders: {total} in {elapsed:.0f} s, errors: {len(errors)}, not finished: {len(unfinished)}")
    for e in errors[:5]:
        print("  error:", e)
    print(f"start latency, first 10%: p50 {p50_first:.1f} ms, p90 {percentile(first, 0.9):.1f} ms")
    print(f"start latency, last 10%:  p50 {p50_last:.1f} ms, p90 {percentile(last, 0.9):.1f} ms "
          f"(ratio {p50_last / p50_first:.2f})")
    print(f"emulator RSS: {rss_start:.0f} MB at the start, {rss_end:.0f} MB at the end "
          f"(growth {rss_end - rss_start:.0f} MB)")
    problems = log_problems()
    print(f"function timeouts and front-door errors in the local run's logs: {len(problems)}")
    for p in problems[:5]:
        print("  ", p)
    ok = (not errors and not unfinished and not problems and rss_end - rss_start <= 300
          and p50_last <= 1.5 * p50_first)
    print("PASS" if ok else "FAIL: goals are no errors, every order finished, no function timeout "
          "or front-door error, RSS growth <= 300 MB, last p50 <= 1.5 x first p50")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
