"""Schemathesis hooks for scripts/contract.sh: sign what it generates, check what comes back.

Loaded by schemathesis through SCHEMATHESIS_HOOKS (contract.sh sets it). Reads CONTRACT_SECRET
(the running system's SIGN_SECRET), CONTRACT_SIGN_TYPE (HMAC_SHA256, the default, or MD5),
CONTRACT_FIXTURES (numbers of real things, made by `fixtures` below), CONTRACT_FIXTURE_RATE
(share of requests that name them, default 0.5) and CONTRACT_STATS (where to write what the
system answered, per operation).

- Every generated merchant request (`/unipay/...`) whose body is a JSON object may first have
  its numbers (allocationNo, orderNo, receiverNo, groupNo, returnNo...) replaced by real ones,
  then gets a fresh `reqTime` (epoch seconds), a random `nonceStr` and its `sign` (SPEC §3),
  just before it is sent: it can then be refused for what it says, never for its signature.
- A generated feed notice (`/feed/pay-order`, `/feed/refund`: DaxPay's signed notices) is
  signed the same way (no reqTime: DaxPay's notices carry none).
- Channel callbacks (`/callback/...`) are sent as generated: they are signed by the channel's
  key, not by ours, so the system refuses them; their answers must still match the contract.

Custom checks (contract.sh names them in --checks):
- `no_system_error`: no envelope has `code` 10001 (系统错误: an unexpected failure, SPEC §2.3).
- `signed_request_not_refused_for_signature`: a request that verifies under our rule is never
  answered 20052 (验签失败), nor a signed feed notice 401.
- `answer_signature_valid`: every signed `data` of an answer verifies with the secret.
- `answer_in_request_spelling`: an accepted answer uses the field names of its request's
  generation (SPEC §2.1: 2.0.8 names as soon as the request used one).

Run as a script (the signing part needs only the standard library):
  python3 contract_hooks.py self-test [VECTORS.json...]   the rule against the test vectors
  python3 contract_hooks.py check-document OPENAPI.json   examples match schemas, signatures real
  python3 contract_hooks.py fixtures RUN_ENV OUT.json     make real things in a running system
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sys
import time

# ---------------------------------------------------------------------------------------------
# The signing rule (SPEC §3), written from the spec, checked against the shared vectors.
# ---------------------------------------------------------------------------------------------


def _dropped(value) -> bool:
    """Step 1: `null` members and empty arrays take no part (empty strings do)."""
    return value is None or (isinstance(value, list) and len(value) == 0)


def _strip(text: str) -> str:
    """Step 4: every `"` and `\\` is deleted."""
    return text.replace('"', "").replace("\\", "")


def _float_text(x: float) -> str:
    """A float as the service's serde_json (1.0.154, zmij) writes it: the shortest digits that
    read back, plain from 1e-5 to below 1e16, else `1e+16`, `1.5e-7`."""
    if x == 0:
        return "-0.0" if str(x).startswith("-") else "0.0"
    sign = "-" if x < 0 else ""
    text = repr(abs(x))  # shortest round-trip digits, as ryu finds them
    mantissa, _, exp = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp or 0)  # digits before the decimal point
    zeros = len(digits) - len(digits.lstrip("0"))
    digits, point = digits[zeros:].rstrip("0"), point - zeros
    n = len(digits)
    if point >= n and point <= 16:
        return sign + digits + "0" * (point - n) + ".0"
    if 0 < point <= 16:
        return sign + digits[:point] + "." + digits[point:]
    if -5 < point <= 0:
        return sign + "0." + "0" * (-point) + digits
    exp = f"e+{point - 1}" if point > 1 else f"e{point - 1}"
    if n == 1:
        return f"{sign}{digits}{exp}"
    return f"{sign}{digits[0]}.{digits[1:]}{exp}"


def _number_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # beyond u64 / i64 serde_json reads the number as a float
        if -(2**63) <= value < 2**64:
            return str(value)
        return _float_text(float(value))
    return _float_text(value)


def _hutool_escaped(text: str) -> str:
    """Text as Hutool 5.8's JSONUtil escapes it, with step 4 applied (`"`, `\\` gone)."""
    out = []
    for c in text:
        o = ord(c)
        if c in ('"', "\\"):
            continue
        if c == "\b":
            out.append("b")
        elif c == "\t":
            out.append("t")
        elif c == "\n":
            out.append("n")
        elif c == "\f":
            out.append("f")
        elif c == "\r":
            out.append("r")
        elif (
            o < 0x20
            or 0x80 <= o <= 0xA0
            or 0x2000 <= o <= 0x2010
            or 0x2028 <= o <= 0x202F
            or 0x2066 <= o <= 0x206F
        ):
            out.append(f"u{o:04x}")
        else:
            out.append(c)
    return "".join(out)


def _nested_text(value) -> str:
    """Step 2 for a nested value: JSON text of string-valued objects with case-insensitively
    sorted keys (as Hutool builds it), quotes and backslashes already deleted."""
    if isinstance(value, list):
        return "[" + ",".join(_nested_text(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items() if not _dropped(v)]
        items.sort(key=lambda kv: (kv[0].lower(), kv[0].encode("utf-8")))
        return "{" + ",".join(f"{_hutool_escaped(k)}:{_nested_text(v)}" for k, v in items) + "}"
    if isinstance(value, str):
        return _hutool_escaped(value)
    if value is None:
        return ""
    return _number_text(value)


def sign_string(obj: dict, secret: str) -> str:
    """Steps 1-5: the exact text that is digested, `&key=<secret>` included."""
    members = [(k, v) for k, v in obj.items() if k != "sign" and not _dropped(v)]
    members.sort(key=lambda kv: kv[0].encode("utf-8"))
    parts = []
    for k, v in members:
        if isinstance(v, str):
            text = _strip(v)
        elif isinstance(v, (list, dict)):
            text = _nested_text(v)
        else:
            text = _number_text(v)
        parts.append(f"{_strip(k)}={text}")
    return "&".join(parts) + "&key=" + secret


def signature(obj: dict, secret: str, sign_type: str = "HMAC_SHA256") -> str:
    """Step 6: lowercase hex HMAC-SHA256 keyed with the secret, or MD5."""
    text = sign_string(obj, secret).encode("utf-8")
    if sign_type == "MD5":
        return hashlib.md5(text).hexdigest()
    return hmac.new(secret.encode("utf-8"), text, hashlib.sha256).hexdigest()


def verifies(obj: dict, secret: str, sign_type: str = "HMAC_SHA256") -> bool:
    """Step 7: `sign` is the expected lowercase hex, compared in constant time."""
    given = obj.get("sign")
    return isinstance(given, str) and hmac.compare_digest(given, signature(obj, secret, sign_type))


def self_test(paths: list[str]) -> int:
    """Checks the rule against vector files (SPEC §3's and Hutool's escaping); prints failures."""
    failed = total = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            vectors = json.load(f)["vectors"]
        for v in vectors:
            total += 1
            obj, secret = v["object"], v["secret"]
            problems = []
            if sign_string(obj, secret) != v["signString"]:
                problems.append(f"signString {sign_string(obj, secret)!r} != {v['signString']!r}")
            for sign_type in ("HMAC_SHA256", "MD5"):
                if sign_type in v and signature(obj, secret, sign_type) != v[sign_type]:
                    problems.append(f"{sign_type} {signature(obj, secret, sign_type)} != {v[sign_type]}")
            if problems:
                failed += 1
                print(f"  FAIL {os.path.basename(path)} {v['name']}: " + "; ".join(problems))
    # numbers as serde_json writes them (a float reaches a signature only in a feed notice's
    # extra members: merchant parameters refuse floats before the signature is checked)
    for x, want in [(1.0, "1.0"), (1.5, "1.5"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
                    (0.0001, "0.0001"), (1e-5, "0.00001"), (1e-6, "1e-6"), (-2.5e-7, "-2.5e-7"),
                    (123456.789, "123456.789"), (1.2345e20, "1.2345e+20"), (-0.0, "-0.0"),
                    (5e-324, "5e-324"), (1.5e-5, "0.000015"), (2**64, "1.8446744073709552e+19"), (-(2**63), str(-(2**63))), (True, "true")]:
        total += 1
        if _number_text(x) != want:
            failed += 1
            print(f"  FAIL number {x!r}: {_number_text(x)} != {want}")
    print(f"signing rule (SPEC §3): {total - failed} of {total} vectors verified")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# Fixtures: a few real orders, receivers, groups and returns on both channels, made before the
# run, so that generated requests also name things that exist and answers carry whole models.
# ---------------------------------------------------------------------------------------------


def _post(url: str, body, headers=None):
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(url, data=data, method="POST", headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def make_fixtures(run: dict, secret: str, sign_type: str = "HMAC_SHA256") -> dict:
    """Feeds pay orders (trades seeded at the channel simulators), adds receivers and a default
    group per channel, starts allocations (one settled and finished, with a return; one left
    processing) and leaves unallocated pay orders for generated starts. Returns the numbers."""
    url, stamp = run["URL"], f"CT{int(time.time())}"
    found = {k: [] for k in ("orderNo", "bizOrderNo", "allocationNo", "bizAllocationNo", "receiverNo", "groupNo", "returnNo", "bizReturnNo")}
    # the Beijing day the orders are made on (the order lists are by status and day)
    found["day"] = [time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))]

    def merchant(path, params, must=True):
        body = dict(params, reqTime=int(time.time()), nonceStr=secrets.token_hex(8))
        body["sign"] = signature(body, secret, sign_type)
        status, text = _post(url + path, body)
        answer = json.loads(text)
        data = answer.get("data") or {}
        if must and (answer.get("code") != 0 or data.get("code") != 0):
            raise RuntimeError(f"fixture {path} {params}: {text}")
        return data

    for ch, sim, seed, types in [
        ("ali_pay", run["SIM_URL"], "trades", [("ali_user_id", "2088000000000011"), ("ali_login_name", "staff@example.com")]),
        ("wechat_pay", run["WX_URL"], "transactions", [("wx_merchant", "1900000110"), ("wx_personal", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")]),
    ]:
        c = ch[0].upper()
        receivers = []
        for i, (kind, account) in enumerate(types):
            no = f"{stamp}{c}R{i}"
            merchant("/unipay/allocation/receiver/add", {"receiverNo": no, "channel": ch, "receiverType": kind, "receiverAccount": account,
                                                         "receiverName": "门店" if i == 0 else "员工", "relationType": "STORE" if i == 0 else "STAFF"})
            receivers.append(no)
        group = f"{stamp}{c}G"
        merchant("/unipay/allocation/group/create", {"groupNo": group, "name": "默认组", "channel": ch})
        merchant("/unipay/allocation/group/bind", {"groupNo": group, "receivers": [{"receiverNo": receivers[0], "rate": 3000}, {"receiverNo": receivers[1], "rate": 1000}]})
        merchant("/unipay/allocation/group/setDefault", {"groupNo": group})
        found["receiverNo"] += receivers
        found["groupNo"].append(group)
        orders = []
        for i in range(6):
            order, trade = f"{stamp}{c}P{i}", f"{stamp}{c}T{i}"
            key = "trade_no" if ch == "ali_pay" else "transaction_id"
            _post(f"{sim}/__sim/{seed}", {key: trade, "amount_fen": 10000})
            notice = {"orderNo": order, "bizOrderNo": f"SDK_{order}", "outOrderNo": trade, "title": "契约测试", "channel": ch, "method": "qrcode",
                      "amount": 10000, "status": "success", "allocation": True, "autoAllocation": False, "payTime": int(time.time())}
            notice["sign"] = signature(notice, secret, sign_type)
            status, text = _post(url + "/feed/pay-order", notice)
            if status != 200:
                raise RuntimeError(f"fixture pay notice {order}: {status} {text}")
            found["orderNo"].append(order)
            found["bizOrderNo"].append(f"SDK_{order}")
            orders.append((order, trade))
        # order 0: split, settled, finished, one return; order 1: left processing; 2..5 free
        for i in (0, 1):
            biz = f"{stamp}{c}A{i}"
            data = merchant("/unipay/allocation/start", {"bizAllocationNo": biz, "orderNo": orders[i][0], "description": "契约测试",
                                                          "receivers": [{"receiverNo": receivers[0], "amount": 6000}, {"receiverNo": receivers[1], "amount": 1500}]})
            found["allocationNo"].append(data["allocationNo"])
            found["bizAllocationNo"].append(biz)
        done = found["allocationNo"][-2]
        if ch == "ali_pay":
            _post(f"{sim}/__sim/complete", {"trade_no": orders[0][1], "out_request_no": done, "outcomes": {}})
        else:
            _post(f"{sim}/__sim/complete", {"transaction_id": orders[0][1], "out_order_no": done, "outcomes": {}})
        for _ in range(30):
            merchant("/unipay/sync/allocation", {"allocationNo": done})
            if merchant("/unipay/query/allocationOrder", {"allocationNo": done}).get("status") in ("allocation_end", "finish"):
                break
            time.sleep(1)
        data = merchant("/unipay/allocation/return", {"bizReturnNo": f"{stamp}{c}B0", "allocationNo": done, "receiverNo": receivers[0],
                                                      "amount": 1000, "description": "契约测试", "bizRefundNo": f"{stamp}{c}F0"})
        found["returnNo"].append(data["returnNo"])
        found["bizReturnNo"].append(f"{stamp}{c}B0")
    return found


# ---------------------------------------------------------------------------------------------
# Schemathesis hooks and checks (only when loaded by schemathesis).
# ---------------------------------------------------------------------------------------------

SECRET = os.environ.get("CONTRACT_SECRET", "")
SIGN_TYPE = os.environ.get("CONTRACT_SIGN_TYPE", "HMAC_SHA256")
SYSTEM_ERROR = 10001
SIGN_FAILURE = 20052
# 2.0.7 and 2.0.8 names of the renamed members (SPEC §2.1), and ours of a sync of many
RENAMED = [("allocationNo", "allocNo"), ("bizAllocationNo", "bizAllocNo"), ("outAllocationNo", "outAllocNo"), ("allocationNos", "allocNos")]
# request members that name something, and the fixture list that has real ones
NAMES = {"allocationNo": "allocationNo", "allocNo": "allocationNo", "bizAllocationNo": "bizAllocationNo", "bizAllocNo": "bizAllocationNo",
         "orderNo": "orderNo", "bizOrderNo": "bizOrderNo", "receiverNo": "receiverNo", "groupNo": "groupNo",
         "returnNo": "returnNo", "bizReturnNo": "bizReturnNo", "day": "day"}
FIXTURES: dict = {}
if os.environ.get("CONTRACT_FIXTURES"):
    with open(os.environ["CONTRACT_FIXTURES"], encoding="utf-8") as _f:
        FIXTURES = json.load(_f)
FIXTURE_RATE = float(os.environ.get("CONTRACT_FIXTURE_RATE", "0.5"))


def _kind(path: str) -> str:
    p = path.lower()
    if p.startswith("/unipay/"):
        return "merchant"
    if p.startswith("/feed/"):
        return "feed"
    return "other"


def _sign_in_place(body: dict) -> None:
    body.pop("sign", None)
    body["sign"] = signature(body, SECRET, SIGN_TYPE)


def _json(content):
    try:
        return json.loads(content)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None


def _sent_body(response):
    body = getattr(response.request, "body", None)
    return _json(body) if body else None


def _use_fixtures(path: str, body: dict, pick) -> None:
    """Names real things instead of generated ones (a start keeps its new bizAllocationNo)."""
    def real(member, value):
        choices = FIXTURES.get(NAMES.get(member, ""), [])
        return pick(choices) if isinstance(value, str) and choices else value

    def distinct(items):
        return list(dict.fromkeys(items)) if all(isinstance(i, str) for i in items) else items

    start = path.lower() == "/unipay/allocation/start"
    for member, value in list(body.items()):
        if member in NAMES and not (start and member in ("bizAllocationNo", "bizAllocNo")):
            body[member] = real(member, value)
        elif member in ("allocationNos", "allocNos") and isinstance(value, list):
            body[member] = distinct([real("allocationNo", v) for v in value])
        elif member == "receiverNos" and isinstance(value, list):
            body[member] = distinct([real("receiverNo", v) for v in value])
        elif member == "receivers" and isinstance(value, list):
            taken = {i["receiverNo"] for i in value if isinstance(i, dict) and isinstance(i.get("receiverNo"), str)}
            for item in value:
                if isinstance(item, dict) and isinstance(item.get("receiverNo"), str):
                    no = real("receiverNo", item["receiverNo"])
                    if no not in taken:  # each receiver once, as the service requires
                        taken.add(no)
                        item["receiverNo"] = no


def spelling_problem(sent: dict, data: dict):
    """The answer's top level (and a sync's lines) must use the request's generation of names."""
    v208 = any(new in sent for _, new in RENAMED)
    wrong = {old for old, _ in RENAMED} if v208 else {new for _, new in RENAMED}
    lines = [line for line in data.get("orders") or [] if isinstance(line, dict)] if isinstance(data.get("orders"), list) else []
    bad = sorted({m for obj in [data, *lines] for m in obj if m in wrong})
    if bad:
        return f"a {'2.0.8' if v208 else '2.0.7'} request was answered with {', '.join(bad)}"
    return None


class _Stats:
    """What the system answered, per operation: written as JSON to CONTRACT_STATS at exit."""

    def __init__(self):
        import collections
        import threading

        self.lock = threading.Lock()
        self.by_op = collections.defaultdict(collections.Counter)

    def add(self, op: str, outcome: str) -> None:
        with self.lock:
            self.by_op[op][outcome] += 1

    def write(self) -> None:
        path = os.environ.get("CONTRACT_STATS")
        if path:
            with open(path, "w", encoding="utf-8") as f:
                json.dump({op: dict(c) for op, c in sorted(self.by_op.items())}, f, ensure_ascii=False, indent=1)


def outcome_of(kind: str, status: int, content: bytes) -> str:
    """`accepted`, `refused`, `error <code>` for an envelope; `HTTP <status>` otherwise."""
    answer = _json(content) if kind == "merchant" else None
    if isinstance(answer, dict) and "code" in answer:
        data = answer.get("data")
        if answer["code"] == 0 and isinstance(data, dict):
            return "accepted" if data.get("code") == 0 else "refused"
        return f"error {answer['code']}"
    return f"HTTP {status}"


def _one_ast_parse_at_a_time() -> None:
    """Hypothesis parses source code (to describe lambdas and filters) with `ast.parse`, which
    CPython 3.11 does not survive from two threads at once (`SystemError: AST constructor
    recursion depth mismatch`: with --workers 2 a flaky error of schemathesis's own generation,
    nothing to do with the system under test). One lock around it; nothing else changes."""
    import ast
    import threading

    original, lock = ast.parse, threading.RLock()

    def parse(*args, **kwargs):
        with lock:
            return original(*args, **kwargs)

    ast.parse = parse


try:
    import schemathesis
except ImportError:  # read for its signing rule only (the self-test, the fixtures)
    schemathesis = None

if schemathesis is not None and __name__ != "__main__":
    import atexit
    import random

    _one_ast_parse_at_a_time()

    STATS = _Stats()
    atexit.register(STATS.write)
    _random = random.Random()

    @schemathesis.hook
    def before_call(context, case, kwargs):
        """Names real things in some requests, then signs merchant requests (fresh reqTime and
        nonceStr) and feed notices."""
        if not SECRET:
            raise RuntimeError("CONTRACT_SECRET (the running system's SIGN_SECRET) is not set")
        kind = _kind(case.operation.path)
        if kind == "other" or not isinstance(case.body, dict):
            return
        body = json.loads(json.dumps(case.body))
        if kind == "merchant":
            if FIXTURES and _random.random() < FIXTURE_RATE:
                _use_fixtures(case.operation.path, body, _random.choice)
            body["reqTime"] = int(time.time())
            body["nonceStr"] = secrets.token_hex(8)
        _sign_in_place(body)
        case.body = body

    @schemathesis.hook
    def after_call(context, case, response):
        kind = _kind(case.operation.path)
        op = f"{case.operation.method.upper()} {case.operation.path}"
        STATS.add(op, outcome_of(kind, response.status_code, response.content))
        if os.environ.get("CONTRACT_DIAG") and case.meta is not None and not case.meta.generation.mode.is_negative:
            from schemathesis.core.parameters import ParameterLocation
            if not case.meta.is_negative_at(ParameterLocation.BODY):
                answer = _json(response.content)
                if isinstance(answer, dict) and answer.get("code") not in (0, None):
                    STATS.add("positive refused: " + op, f"{answer.get('code')} {str(answer.get('msg'))[:90]} <- {json.dumps(_sent_body(response), ensure_ascii=False)[:300]}")

    @schemathesis.check
    def no_system_error(ctx, response, case):
        """No answer is an unexpected failure (envelope code 10001, 系统错误)."""
        if _kind(case.operation.path) != "merchant":
            return None
        answer = _json(response.content)
        if isinstance(answer, dict) and answer.get("code") == SYSTEM_ERROR:
            raise AssertionError(f"envelope code {SYSTEM_ERROR} (系统错误) for a merchant request: {answer}")
        return None

    @schemathesis.check
    def signed_request_not_refused_for_signature(ctx, response, case):
        """A request signed by our rule is never refused for its signature."""
        kind = _kind(case.operation.path)
        sent = _sent_body(response)
        if kind == "other" or not isinstance(sent, dict) or not verifies(sent, SECRET, SIGN_TYPE):
            return None
        if kind == "merchant":
            answer = _json(response.content)
            if isinstance(answer, dict) and answer.get("code") == SIGN_FAILURE:
                raise AssertionError(f"a correctly signed request was answered {SIGN_FAILURE} (验签失败): {answer}")
        elif response.status_code == 401:
            raise AssertionError(f"a correctly signed notice was answered 401: {response.content!r}")
        return None

    @schemathesis.check
    def answer_signature_valid(ctx, response, case):
        """Every signed `data` verifies with the secret (SPEC §3: answers are signed too)."""
        if _kind(case.operation.path) != "merchant":
            return None
        answer = _json(response.content)
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict) and not verifies(data, SECRET, SIGN_TYPE):
            raise AssertionError(f"data.sign does not verify: {data}")
        return None

    @schemathesis.check
    def answer_in_request_spelling(ctx, response, case):
        """SPEC §2.1: an accepted answer uses the field names of the request's generation."""
        if _kind(case.operation.path) != "merchant":
            return None
        sent, answer = _sent_body(response), _json(response.content)
        data = answer.get("data") if isinstance(answer, dict) else None
        if isinstance(sent, dict) and isinstance(data, dict) and data.get("code") == 0:
            problem = spelling_problem(sent, data)
            if problem:
                raise AssertionError(problem)
        return None


# secrets of the documented examples: the seeds' (SPEC's test vectors) and scripts/run.sh's default
EXAMPLE_SECRETS = ("123456", "local-dev-secret")


def check_document(path: str) -> int:
    """Every example of the document matches its schema, and every signature in an example is
    real (verifies with one of EXAMPLE_SECRETS) unless its summary says it is illustrative."""
    import jsonschema_rs

    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    components = doc.get("components", {})
    count, problems = 0, []
    for route, item in doc["paths"].items():
        for method, op in item.items():
            media = [("request", m) for m in op.get("requestBody", {}).get("content", {}).values()]
            media += [(code, m) for code, r in op["responses"].items() for m in r.get("content", {}).values()]
            for where, m in media:
                validator = jsonschema_rs.Draft202012Validator(dict(m["schema"], components=components))
                examples = dict(m.get("examples", {}))
                if "example" in m:
                    examples["example"] = {"value": m["example"]}
                for name, e in examples.items():
                    count += 1
                    value, label = e["value"], f"{method.upper()} {route} {where} example {name}"
                    for error in validator.iter_errors(value):
                        problems.append(f"{label}: {error.message[:300]}")
                        break
                    signed = [v for v in (value, value.get("data") if isinstance(value, dict) else None)
                              if isinstance(v, dict) and "sign" in v]
                    illustrative = "illustrative" in e.get("summary", "")
                    for obj in signed:
                        if not illustrative and not any(verifies(obj, s, t) for s in EXAMPLE_SECRETS for t in ("HMAC_SHA256", "MD5")):
                            problems.append(f"{label}: its signature is not real and the example is not marked illustrative")
    for p in problems:
        print("  FAIL " + p)
    print(f"document: {count - len(problems)} of {count} examples match their schemas, with real signatures")
    return 1 if problems else 0


def _main(args: list[str]) -> int:
    if args[:1] == ["fixtures"] and len(args) == 3:
        with open(args[1], encoding="utf-8") as f:
            run = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        found = make_fixtures(run, run["SIGN_SECRET"], os.environ.get("CONTRACT_SIGN_TYPE", "HMAC_SHA256"))
        with open(args[2], "w", encoding="utf-8") as f:
            json.dump(found, f, ensure_ascii=False, indent=1)
        print("fixtures: " + ", ".join(f"{len(v)} {k}" for k, v in found.items()))
        return 0
    if args[:1] == ["check-document"] and len(args) == 2:
        return check_document(args[1])
    if args[:1] == ["self-test"]:
        # the vector files named, else the repository's copies
        here = os.path.dirname(os.path.abspath(__file__))
        fixtures = os.path.join(here, "..", "shared", "tests", "fixtures")
        default = [os.path.join(fixtures, "sign.json"), os.path.join(fixtures, "hutool-escape", "vectors.json")]
        return self_test(args[1:] or default)
    print("usage: contract_hooks.py self-test [VECTORS.json...] | check-document OPENAPI.json | fixtures RUN_ENV OUT.json",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
