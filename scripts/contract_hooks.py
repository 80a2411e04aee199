"""Schemathesis hooks for scripts/contract.sh: sign what it generates, check what comes back.

Loaded by schemathesis through SCHEMATHESIS_HOOKS (contract.sh sets it). Reads CONTRACT_SECRET
(the running system's SIGN_SECRET), CONTRACT_SIGN_TYPE (HMAC_SHA256, the default, or MD5),
CONTRACT_FIXTURES (numbers of real things, made by `fixtures` below), CONTRACT_FIXTURE_RATE
(share of requests that name them, default 0.5), CONTRACT_STATS (where to write what the
system answered, per operation), CONTRACT_RUN_ENV (the system's run.env: its apps and their
secrets, the admin routes' credentials), CONTRACT_ADMIN_ACCESS_KEY_ID /
CONTRACT_ADMIN_SECRET_ACCESS_KEY / CONTRACT_ADMIN_REGION (else run.env's, else test / test,
us-east-1) and CONTRACT_OTHER_APP_RATE (share of beta4 requests for another app of the run than
the default one, default 0.2).

- Every generated merchant request (`/unipay/...`) whose body is a JSON object may first have
  its numbers (allocationNo, orderNo, receiverNo, groupNo, returnNo...) replaced by real ones,
  then gets a fresh `reqTime` (epoch seconds), a random `nonceStr` and its `sign` (SPEC §3),
  just before it is sent: it can then be refused for what it says, never for its signature.
- A DaxPay 3.0.0-beta4 request (`/unipay/alloc/...`) likewise, by beta4's rule (SPEC §8.2;
  `alloc_protocol::beta4`): `appId` an app of the run (`default` mostly, else one of run.env's
  APP<n>_ID) when generated as a string, `mchNo` that app's merchant half the time, `reqTime`
  `yyyy-MM-dd HH:mm:ss` Beijing time, signed with that app's secret.
- A generated feed notice (`/feed/pay-order`, `/feed/refund`: DaxPay's signed notices) is
  signed the same way as 2.0.x requests (no reqTime: DaxPay's notices carry none).
- An admin call (`/admin/...`) is signed with AWS SigV4 (execute-api) as it is finally sent.
  One that changes something (not a GET) never names the run's own apps, merchants and service
  providers (run.env's apps, the app under its provider (ISV_...), their merchants, the default
  app, the provider): in its path such an id becomes the merchant, app or provider the fixtures
  made for the check, or an id nobody has; creations get fresh ids. Now and then an account that
  parses is set: a direct one on the check's app or provider, or one under the check's provider on
  the check's app.
- The reconciliation endpoints (`/unipay/query/reconcileStatement`, `.../reconcileDiscrepancies`)
  name, half the time, the day the fixtures reconciled (yesterday, through the admin re-run of the
  default app, its WeChat Pay bill given splits made elsewhere) and a real `nextCursor` of its
  discrepancies. Generated re-runs (`POST /admin/apps/{appId}/reconcile`) follow the admin rule
  above: never the run's own apps.
- Channel callbacks (`/callback/...`, a provider's `/provider/{providerId}/callback/...`) are sent
  as generated (a provider's now and then naming a real provider): they are signed by the
  channel's key, not by ours, so the system refuses them; their answers must still match the
  contract.

Custom checks (contract.sh names them in --checks):
- `no_system_error`: no envelope has `code` 10001 (系统错误: an unexpected failure, SPEC §2.3),
  no beta4 answer 10500.
- `signed_request_not_refused_for_signature`: a request that verifies under our rule is never
  answered 20052 (验签失败), nor a beta4 request that verifies under beta4's rule with the secret
  of the app it names, nor a signed feed notice 401, nor a SigV4-signed admin call 403.
- `answer_signature_valid`: every signed `data` of an answer verifies with the secret; every
  signed beta4 answer verifies over its envelope with the secret of the app it answers (an
  unknown app's is signed with a secret nobody holds, and its unsigned errors carry none).
- `answer_in_request_spelling`: an accepted answer uses the field names of its request's
  generation (SPEC §2.1: 2.0.8 names as soon as the request used one).

Run as a script (the signing part needs only the standard library):
  python3 contract_hooks.py self-test [VECTORS.json...]   the rules against the test vectors
                                                          (SPEC §3's files; beta4's, SigV4's built in)
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


# ---------------------------------------------------------------------------------------------
# DaxPay 3.0.0-beta4's rule (SPEC §8.2; /work/notes/beta4-facts.md §4, §8; alloc_protocol::beta4),
# for the `/unipay/alloc/...` endpoints: a request over its members (a non-empty list signed as
# the two characters `{}`, decimals without trailing zeros, `reqTime` as its text), an answer
# over its whole envelope (`code`, `msg`, `data` as Hutool's JSON of the model in member order,
# `resTime`, `traceId`; nulls left out).
# ---------------------------------------------------------------------------------------------

BETA4_PREFIX = "/unipay/alloc/"


def plain_decimal(text: str) -> str:
    """A JSON number's text as Java's `new BigDecimal(text).stripTrailingZeros().toPlainString()`
    (`1.50` → `1.5`, `1E+3` → `1000`, `0.00` → `0`)."""
    negative = text.startswith("-")
    body = text[1:] if negative else text.lstrip("+")
    mantissa, _, exp = body.replace("E", "e").partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + int(exp or 0)
    zeros = len(digits) - len(digits.lstrip("0"))
    digits, point = digits[zeros:].rstrip("0"), point - zeros
    if not digits:
        return "0"
    sign = "-" if negative else ""
    if point <= 0:
        return sign + "0." + "0" * (-point) + digits
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return sign + digits[:point] + "." + digits[point:]


def _json_number_text(value) -> str:
    """The text a Python number is sent as (json.dumps), as the service reads it back."""
    if isinstance(value, int):
        # beyond u64 / i64 serde_json reads the number as a float
        return str(value) if -(2**63) <= value < 2**64 else repr(float(value))
    return str(value) if not isinstance(value, float) else repr(value)


def _beta4_nested(value) -> str:
    """Hutool's JSON text of a nested value (`"` and `\\` are deleted later)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"' + _hutool_escaped(value) + '"'
    if isinstance(value, (int, float)) or _is_decimal(value):
        return plain_decimal(_json_number_text(value))
    if isinstance(value, list):
        return "[" + ",".join(_beta4_nested(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f'"{_hutool_escaped(k)}":{_beta4_nested(v)}' for k, v in value.items() if v is not None) + "}"
    return str(value)


def _is_decimal(value) -> bool:
    import decimal
    return isinstance(value, decimal.Decimal)


def _beta4_finish(members: list[tuple[str, str]], secret: str) -> str:
    members.sort(key=lambda kv: kv[0].encode("utf-8"))
    return _strip("&".join(f"{k}={v}" for k, v in members)) + "&key=" + secret


def beta4_request_sign_string(obj: dict, secret: str) -> str:
    """The exact text a beta4 request is signed over (`sign` left out): each member's value as
    text (a string as it is, a number without trailing zeros, a non-empty list as `{}`, an empty
    list and null not at all, an object as Hutool's JSON of it), keys in byte order."""
    members = []
    for k, v in obj.items():
        if k == "sign" or v is None or (isinstance(v, list) and not v):
            continue
        if isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, str):
            text = v
        elif isinstance(v, list):
            text = "{}"
        elif isinstance(v, dict):
            text = _beta4_nested(v)
        else:
            text = plain_decimal(_json_number_text(v))
        members.append((k, text))
    return _beta4_finish(members, secret)


def _digest(text: str, secret: str, sign_type: str) -> str:
    if sign_type == "MD5":
        return hashlib.md5(text.encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def beta4_request_signature(obj: dict, secret: str, sign_type: str = "HMAC_SHA256") -> str:
    return _digest(beta4_request_sign_string(obj, secret), secret, sign_type)


def beta4_request_verifies(obj: dict, secret: str, sign_type: str = "HMAC_SHA256") -> bool:
    given = obj.get("sign")
    return isinstance(given, str) and hmac.compare_digest(given, beta4_request_signature(obj, secret, sign_type))


def beta4_answer_sign_string(envelope: dict, secret: str) -> str:
    """The exact text a beta4 answer is signed over: `code`, `msg`, `resTime`, `data` (Hutool's
    JSON of the model, members in the order sent, nulls left out) and `traceId`, the nulls left
    out. Numbers should be read as `decimal.Decimal` (`read_answer`) so that their text is kept."""
    members = []
    for k in ("code", "msg", "resTime", "traceId"):
        v = envelope.get(k)
        if v is None:
            continue
        if isinstance(v, str):
            members.append((k, v))
        else:
            members.append((k, plain_decimal(_json_number_text(v)) if not isinstance(v, bool) else str(v).lower()))
    if envelope.get("data") is not None:
        members.append(("data", _beta4_nested(envelope["data"])))
    return _beta4_finish(members, secret)


def beta4_answer_verifies(envelope: dict, secret: str, sign_type: str = "HMAC_SHA256") -> bool:
    given = envelope.get("sign")
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given, _digest(beta4_answer_sign_string(envelope, secret), secret, sign_type))


def read_answer(content):
    """A JSON answer with its numbers as `decimal.Decimal` (their text kept), else None."""
    import decimal
    try:
        return json.loads(content, parse_float=decimal.Decimal)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None


def beijing_now() -> str:
    """Now as `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8, no daylight saving): beta4's reqTime."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 8 * 3600))


# ---------------------------------------------------------------------------------------------
# AWS Signature Version 4 (IAM User Guide, "Create a signed AWS API request"), for the admin
# routes (`/admin/...`, service execute-api): canonical request, string to sign, signing key.
# ---------------------------------------------------------------------------------------------

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _uri_encode(data: bytes, keep_slash: bool) -> str:
    return "".join(chr(b) if b in _UNRESERVED or (keep_slash and b == 0x2F) else f"%{b:02X}" for b in data)


def _percent_decode(text: str, plus: bool) -> bytes:
    """`%XX` escapes decoded (a malformed one kept as it is: the front door reads `%+f` as 0x0f,
    as Rust's `u8::from_str_radix` does); `+` is a space when `plus`."""
    hexdigits = b"0123456789abcdefABCDEF"
    out, raw, i = bytearray(), text.encode("utf-8"), 0
    while i < len(raw):
        b, pair = raw[i], raw[i + 1:i + 3]
        if b == 0x25 and len(pair) == 2 and pair[1] in hexdigits and (pair[0] in hexdigits or pair[0] == 0x2B):
            out.append(int(pair.decode("ascii").lstrip("+"), 16))
            i += 3
            continue
        out.append(0x20 if plus and b == 0x2B else b)
        i += 1
    return bytes(out)


def sigv4_canonical_uri(path: str) -> str:
    """The path as sent, RFC 3986 dot segments and empty segments removed (a trailing `/` kept),
    each byte outside the unreserved set and `/` percent-encoded: once more, over the encoding
    the path already has (every AWS service but S3)."""
    path = path or "/"
    if "." in path or "//" in path:
        segments: list[str] = []
        for s in path.split("/"):
            if s in ("", "."):
                continue
            if s == "..":
                if segments:
                    segments.pop()
                continue
            segments.append(s)
        normalized = "/" + "/".join(segments)
        if any(path.endswith(e) for e in ("/", "/.", "/..", "/./", "/../")) and not normalized.endswith("/"):
            normalized += "/"
        path = normalized
    return _uri_encode(path.encode("utf-8"), keep_slash=True)


def sigv4_canonical_query(query: str) -> str:
    """Each member decoded (form encoding) and encoded again, sorted by name, then value."""
    members = []
    for m in query.split("&"):
        if not m:
            continue
        name, _, value = m.partition("=")
        members.append((_uri_encode(_percent_decode(name, True), False), _uri_encode(_percent_decode(value, True), False)))
    return "&".join(f"{n}={v}" for n, v in sorted(members))


def sigv4_sign(method: str, url: str, headers: dict, body: bytes, access_key: str, secret_key: str,
               region: str, service: str = "execute-api", amz_date: str | None = None) -> dict:
    """The headers that sign a request (`x-amz-date`, `Authorization`): `headers` must hold
    every header to sign (names in any case; `host` is added from the URL when absent)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    amz_date = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    signed = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    signed.setdefault("host", parts.netloc.rpartition("@")[2])
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
    payload_hash = hashlib.sha256(body or b"").hexdigest()
    canonical_request = "\n".join([method.upper(), sigv4_canonical_uri(parts.path), sigv4_canonical_query(parts.query),
                                   canonical_headers, ";".join(names), payload_hash])
    day = amz_date[:8]
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([SIGV4_ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "Authorization": f"{SIGV4_ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}",
    }


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
    failed += self_test_beta4_and_sigv4()
    return 1 if failed else 0


# beta4's vectors (/work/notes/beta4-facts.md "Minimal example", computed with the real beta4 SDK;
# alloc_protocol::beta4's tests), secret 123456: a request and answers, and the sign strings.
BETA4_REQUEST = ('{"bizAllocNo":"SDK_1734661800000","orderNo":"DEVP2024122010250060000001","title":"测试分账",'
                 '"receivers":[{"receiverNo":"R001","amount":1},{"receiverNo":"R002","amount":2.5}],'
                 '"notifyUrl":"https://merchant.example.com/alloc/notify","appId":"M8207639754663343","clientIp":"127.0.0.1",'
                 '"sign":"5b95762e3ce52f5a723171a425552de8d858bc170cb3229c8a03a010a04eddd8","reqTime":"2024-12-20 10:30:00","nonceStr":"a1b2c3d4"}')
BETA4_VECTORS = [
    # (name, JSON text, request or answer, sign string, HMAC_SHA256, MD5)
    ("start request", BETA4_REQUEST, "request",
     "appId=M8207639754663343&bizAllocNo=SDK_1734661800000&clientIp=127.0.0.1&nonceStr=a1b2c3d4&notifyUrl=https://merchant.example.com/alloc/notify"
     "&orderNo=DEVP2024122010250060000001&receivers={}&reqTime=2024-12-20 10:30:00&title=测试分账&key=123456",
     "5b95762e3ce52f5a723171a425552de8d858bc170cb3229c8a03a010a04eddd8", "c001adc6ac2aa2f2f15e28565565317d"),
    ("start answer",
     '{"code":0,"msg":"success","data":{"allocNo":"DEVA2024122010300160000001","bizAllocNo":"SDK_1734661800000","status":"processing",'
     '"result":"all_pending"},"sign":"020b85e4eba0a559823ef4c7968da1911921f1fa6be9d5a48a34a5ac485c98a2","resTime":"2024-12-20 10:30:01","traceId":"k3j5h2g8f9d1"}',
     "answer",
     "code=0&data={allocNo:DEVA2024122010300160000001,bizAllocNo:SDK_1734661800000,status:processing,result:all_pending}"
     "&msg=success&resTime=2024-12-20 10:30:01&traceId=k3j5h2g8f9d1&key=123456",
     "020b85e4eba0a559823ef4c7968da1911921f1fa6be9d5a48a34a5ac485c98a2", "846180745a6cc592cd35ec3b58a29b79"),
    ("receiver add answer (data null)", '{"code":0,"msg":"success","data":null,"resTime":"2024-12-20 10:30:01","traceId":"T1"}', "answer",
     "code=0&msg=success&resTime=2024-12-20 10:30:01&traceId=T1&key=123456", None, None),
    ("signed error", '{"code":20052,"msg":"验签失败","data":null,"resTime":"2024-12-20 10:30:01","traceId":"T1"}', "answer",
     "code=20052&msg=验签失败&resTime=2024-12-20 10:30:01&traceId=T1&key=123456", None, None),
    ("query answer (decimals stripped, nulls left out, lists as arrays)",
     '{"code":0,"msg":"success","data":{"allocNo":"DEVA1","bizAllocNo":"B1","outAllocNo":null,"orderNo":"P1","bizOrderNo":"BP1","outOrderNo":"OP1",'
     '"title":"标题","channel":"ali_pay","amount":10.10,"description":null,"status":"alloc_end","result":"all_success","errorCode":null,"errorMsg":null,'
     '"finishTime":"2024-12-20 10:35:00","details":[{"receiverNo":"R001","amount":0.10,"rate":1.00,"receiverType":"user_id","receiverAccount":"2088",'
     '"receiverName":null,"result":"success","errorCode":null,"errorMsg":null,"finishTime":"2024-12-20 10:34:00"},{"receiverNo":"R002","amount":10.00,'
     '"rate":99,"receiverType":"user_id","receiverAccount":"2089","receiverName":"张三","result":"success","finishTime":null}]},'
     '"resTime":"2024-12-20 10:36:00","traceId":null}',
     "answer",
     "code=0&data={allocNo:DEVA1,bizAllocNo:B1,orderNo:P1,bizOrderNo:BP1,outOrderNo:OP1,title:标题,channel:ali_pay,amount:10.1,status:alloc_end,"
     "result:all_success,finishTime:2024-12-20 10:35:00,details:[{receiverNo:R001,amount:0.1,rate:1,receiverType:user_id,receiverAccount:2088,"
     "result:success,finishTime:2024-12-20 10:34:00},{receiverNo:R002,amount:10,rate:99,receiverType:user_id,receiverAccount:2089,receiverName:张三,"
     "result:success}]}&msg=success&resTime=2024-12-20 10:36:00&key=123456", None, None),
    ("escapes in data", '{"code":0,"msg":"success","data":{"allocNo":"DEVA1","details":[{"receiverName":"张\\"三\\\\\\n"}]},"resTime":"2024-12-20 10:36:00","traceId":"T"}',
     "answer", "code=0&data={allocNo:DEVA1,details:[{receiverName:张三n}]}&msg=success&resTime=2024-12-20 10:36:00&traceId=T&key=123456", None, None),
    ("empty list and null members left out, empty string kept, numbers plain",
     '{"appId":"A","receivers":[],"title":"","description":null,"x":1.50,"y":1E+3,"z":true}', "request",
     "appId=A&title=&x=1.5&y=1000&z=true&key=123456", None, None),
]

# AWS Signature Version 4: the AWS test suite (aws-sig-v4-test-suite: AKIDEXAMPLE, service
# "service", 20150830T123600Z; as dev/local's front door checks it), and admin calls signed by
# botocore 1.44's SigV4Auth (test/test, execute-api, us-east-1, 20260102T030405Z).
SUITE = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service", "20150830T123600Z")
LOCAL = ("test", "test", "us-east-1", "execute-api", "20260102T030405Z")
SIGV4_VECTORS = [
    # (name, credentials, method, URL, headers, body, signature)
    ("get-vanilla", SUITE, "GET", "https://example.amazonaws.com/", {}, b"", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-vanilla-query-order-key-case", SUITE, "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {}, b"",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-vanilla-query-order-value", SUITE, "GET", "https://example.amazonaws.com/?Param1=value2&Param1=Value1", {}, b"",
     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
    ("get-vanilla-query-unreserved", SUITE, "GET",
     "https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {}, b"", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-slashes", SUITE, "GET", "https://example.amazonaws.com//example//", {}, b"", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    ("get-relative-relative", SUITE, "GET", "https://example.amazonaws.com/example1/example2/../..", {}, b"",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("get-space", SUITE, "GET", "https://example.amazonaws.com/example space/", {}, b"", "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    ("post-vanilla", SUITE, "POST", "https://example.amazonaws.com/", {}, b"", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("post-x-www-form-urlencoded", SUITE, "POST", "https://example.amazonaws.com/", {"Content-Type": "application/x-www-form-urlencoded"},
     b"Param1=value1", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ("admin settings (botocore)", LOCAL, "POST", "http://127.0.0.1:9000/admin/apps/ct-1/settings", {"Content-Type": "application/json"},
     b'{"settings": {"autoFinish": false, "notifyUrl": "http://x.cn/n?a=1"}}', "b852b2105b46f3091959c67b13fe15f504f76fe3833557a3c78d86c96aaad3e0"),
    ("admin audit query (botocore)", LOCAL, "GET", "http://127.0.0.1:9000/admin/audit?target=app%3Ashop-1&limit=5&cursor=a%20b%2Fc", {}, b"",
     "b981deb5a634a6adcf9a71dd6e80a6e9c9abb9960b2e467f3e6e6c9811058677"),
    ("admin encoded path (botocore)", LOCAL, "PUT", "http://127.0.0.1:9000/admin/apps/%E5%BA%94%E7%94%A8/channels/ali_pay",
     {"Content-Type": "application/json"}, '{"mode":"direct","appId":"应用"}'.encode("utf-8"),
     "07c6a29b3b9a03a3059c6ea1623ed747d6c41132f52854148ea49c8f4302c263"),
]


def self_test_beta4_and_sigv4() -> int:
    """beta4's rule and SigV4 against their vectors; prints failures, returns how many failed."""
    failed = total = 0
    for name, text, kind, want, hmac_want, md5_want in BETA4_VECTORS:
        total += 1
        obj = read_answer(text)
        got = beta4_request_sign_string(obj, "123456") if kind == "request" else beta4_answer_sign_string(obj, "123456")
        problems = [f"sign string {got!r} != {want!r}"] if got != want else []
        for sign_type, expected in (("HMAC_SHA256", hmac_want), ("MD5", md5_want)):
            if expected and _digest(got, "123456", sign_type) != expected:
                problems.append(f"{sign_type} {_digest(got, '123456', sign_type)} != {expected}")
        if hmac_want and "sign" in obj:
            ok = beta4_request_verifies(obj, "123456") if kind == "request" else beta4_answer_verifies(obj, "123456")
            if not ok:
                problems.append("its sign does not verify")
        if problems:
            failed += 1
            print(f"  FAIL beta4 {name}: " + "; ".join(problems))
    # the receivers are not covered (signed as `{}`); every other member is
    request = read_answer(BETA4_REQUEST)
    for change, covered in ((("receivers", [{"receiverNo": "R001", "amount": 25}]), False), (("bizAllocNo", "SDK_1734661800001"), True),
                            (("reqTime", "2024-12-20 10:30:01"), True), (("receivers", []), True)):
        total += 1
        if beta4_request_verifies(dict(request, **dict([change])), "123456") == covered:
            failed += 1
            print(f"  FAIL beta4: changing {change[0]} {'kept' if covered else 'broke'} the signature")
    for text, plain in [("1.50", "1.5"), ("10.00", "10"), ("0.10", "0.1"), ("1e2", "100"), ("1E+3", "1000"), ("0.00", "0"), ("0", "0"),
                        ("100", "100"), ("-2.500", "-2.5"), ("0.01", "0.01"), ("1.5e-3", "0.0015"), ("120", "120"), ("-0.0", "0")]:
        total += 1
        if plain_decimal(text) != plain:
            failed += 1
            print(f"  FAIL beta4 decimal {text}: {plain_decimal(text)} != {plain}")
    for name, (key, secret, region, service, amz_date), method, url, headers, body, want in SIGV4_VECTORS:
        total += 1
        auth = sigv4_sign(method, url, headers, body, key, secret, region, service, amz_date)["Authorization"]
        got = auth.rpartition("Signature=")[2]
        if got != want:
            failed += 1
            print(f"  FAIL sigv4 {name}: {got} != {want}")
    print(f"beta4 rule and SigV4: {total - failed} of {total} vectors verified")
    return failed


# ---------------------------------------------------------------------------------------------
# Fixtures: a few real orders, receivers, groups and returns on both channels, made before the
# run, so that generated requests also name things that exist and answers carry whole models;
# beta4 starts; and, for the admin routes, a merchant and an app of the check's own.
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


def read_run_env(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def admin_credentials(run: dict) -> tuple[str, str, str]:
    """The admin routes' SigV4 credentials and region: CONTRACT_ADMIN_* in the environment, else
    the front door's (run.env's LOCAL_ADMIN_ACCESS_KEY_ID, LOCAL_ADMIN_SECRET_ACCESS_KEY,
    AWS_REGION), else the local defaults `test` / `test` in us-east-1."""
    def pick(env, key, default):
        return os.environ.get(env) or run.get(key) or default
    return (pick("CONTRACT_ADMIN_ACCESS_KEY_ID", "LOCAL_ADMIN_ACCESS_KEY_ID", "test"),
            pick("CONTRACT_ADMIN_SECRET_ACCESS_KEY", "LOCAL_ADMIN_SECRET_ACCESS_KEY", "test"),
            pick("CONTRACT_ADMIN_REGION", "AWS_REGION", "us-east-1"))


def admin_call(url: str, method: str, path: str, body, credentials):
    """A SigV4-signed admin call: (status, JSON answer or text)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers.update(sigv4_sign(method, url + path, headers, data, *credentials))
    req = urllib.request.Request(url + path, data=data if body is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status, text = r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode("utf-8")
    return status, _json(text) if _json(text) is not None else text


def run_apps(run: dict, sign_type: str) -> dict:
    """The apps of the run, by id: (secret, sign type); the default app, APP<n>_ID's and the app
    under the run's service provider (ISV_APP_ID)."""
    apps = {run.get("DEFAULT_APP_ID", "default"): (run["SIGN_SECRET"], sign_type)}
    n = 1
    while f"APP{n}_ID" in run:
        apps[run[f"APP{n}_ID"]] = (run[f"APP{n}_SECRET"], sign_type)
        n += 1
    if run.get("ISV_APP_ID") and run.get("ISV_APP_SECRET"):
        apps[run["ISV_APP_ID"]] = (run["ISV_APP_SECRET"], sign_type)
    return apps


def make_fixtures(run: dict, secret: str, sign_type: str = "HMAC_SHA256", run_env: str = "") -> dict:
    """Feeds pay orders (trades seeded at the channel simulators), adds receivers and a default
    group per channel, starts allocations (one settled and finished, with a return; one left
    processing; one started by beta4) and leaves unallocated pay orders for generated starts.
    Then, through the admin routes: the merchants of the run's apps, and a merchant, an app and a
    service provider of the check's own (the only ones generated state-changing admin calls may
    touch), the provider with an account at each channel whose keys are in the folder of
    `run_env` (the run's test keys). Returns the numbers."""
    url, stamp = run["URL"], f"CT{int(time.time())}"
    found = {k: [] for k in ("orderNo", "bizOrderNo", "allocationNo", "bizAllocationNo", "receiverNo", "groupNo", "returnNo", "bizReturnNo")}
    # the Beijing day the orders are made on (the order lists are by status and day)
    found["day"] = [time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))]
    default_app = run.get("DEFAULT_APP_ID", "default")

    def merchant(path, params, must=True):
        body = dict(params, reqTime=int(time.time()), nonceStr=secrets.token_hex(8))
        body["sign"] = signature(body, secret, sign_type)
        status, text = _post(url + path, body)
        answer = json.loads(text)
        data = answer.get("data") or {}
        if must and (answer.get("code") != 0 or data.get("code") != 0):
            raise RuntimeError(f"fixture {path} {params}: {text}")
        return data

    def beta4(path, params):
        body = dict(params, appId=default_app, reqTime=beijing_now(), nonceStr=secrets.token_hex(8))
        body["sign"] = beta4_request_signature(body, secret, sign_type)
        status, text = _post(url + path, body)
        answer = read_answer(text)
        if not isinstance(answer, dict) or answer.get("code") != 0 or not beta4_answer_verifies(answer, secret, sign_type):
            raise RuntimeError(f"fixture {path} {params}: {text} (its signature {'verifies' if beta4_answer_verifies(answer or {}, secret, sign_type) else 'does not verify'})")
        return answer.get("data") or {}

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
        # order 0: split, settled, finished, one return; order 1: left processing; order 2:
        # started by beta4 (amounts in yuan); 3..5 free
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
        biz = f"{stamp}{c}A2"
        data = beta4("/unipay/alloc/start", {"bizAllocNo": biz, "orderNo": orders[2][0], "title": "契约测试",
                                             "receivers": [{"receiverNo": receivers[0], "amount": 60}, {"receiverNo": receivers[1], "amount": 15.5}]})
        found["allocationNo"].append(data["allocNo"])
        found["bizAllocationNo"].append(biz)
        beta4("/unipay/alloc/query", {"allocNo": data["allocNo"]})
        beta4("/unipay/alloc/receiver/list", {"channel": ch})

    reconciled(run, found, merchant)

    # the admin routes (a stack with tenants: a KMS key): the run's apps and their merchants are
    # never touched by a generated state-changing call; the check's own merchant and app are
    credentials = admin_credentials(run)
    apps = [a for a in run_apps(run, sign_type) if a != default_app]
    found.update(appMchNo={}, protectedAppId=[default_app] + apps, protectedMchNo=[run.get("DEFAULT_MCH_NO", "default")], adminMchNo=[], adminAppId=[],
                 protectedProviderId=[run["ISV_PROVIDER_ID"]] if run.get("ISV_PROVIDER_ID") else [], adminProviderId=[])
    for app in apps:
        status, answer = admin_call(url, "GET", f"/admin/apps/{app}", None, credentials)
        if status == 501:
            print("fixtures: the stack has no tenants (501): no admin fixtures")
            return found
        if status != 200:
            raise RuntimeError(f"fixture GET /admin/apps/{app}: {status} {answer}")
        found["appMchNo"][app] = answer["app"]["mchNo"]
        if answer["app"]["mchNo"] not in found["protectedMchNo"]:
            found["protectedMchNo"].append(answer["app"]["mchNo"])
    mch, app = stamp, f"ct-{stamp[2:]}"
    for path, body in (("/admin/merchants", {"mchNo": mch, "name": "契约测试"}), ("/admin/apps", {"mchNo": mch, "appId": app, "name": "契约测试"})):
        status, answer = admin_call(url, "POST", path, body, credentials)
        if status == 501:
            print("fixtures: the stack has no tenants (501): no admin fixtures")
            return found
        if status != 200:
            raise RuntimeError(f"fixture POST {path}: {status} {answer}")
    found["adminMchNo"].append(mch)
    found["adminAppId"].append(app)
    # a service provider of the check's own, with an account at each channel whose keys are there
    provider = f"ct-sp-{stamp[2:]}"
    calls = [("POST", "/admin/providers", {"providerId": provider, "name": "契约测试"})]
    calls += [("PUT", f"/admin/providers/{provider}/channels/{ch}", own_account(a))
              for ch, a in _channel_accounts(run_env, run).items()]
    for method, path, body in calls:
        status, answer = admin_call(url, method, path, body, credentials)
        if status != 200:
            raise RuntimeError(f"fixture {method} {path}: {status} {answer}")
    found["adminProviderId"].append(provider)
    return found


# The default app's WeChat Pay merchant, as scripts/run.sh configures it.
DEFAULT_WX_MCHID = "1900000109"


def reconciled(run: dict, found: dict, merchant) -> None:
    """Yesterday (Beijing time) of the default app reconciled on both channels through the admin
    re-run (`POST /admin/apps/default/reconcile`, SigV4), its WeChat Pay bill first given two
    splits made elsewhere at the simulator, so that the reconciliation endpoints answer real
    statements and discrepancies: yesterday joins the fixtures' days (`day`, `from`, `to`) and a
    real `nextCursor` of its discrepancies the cursors of `reconcileDiscrepancies`. A stack that
    reconciles nothing (no bill bucket) leaves them out."""
    url = run["URL"]
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600 - 86400))
    for no, receiver, fen in (("CTX1", "1900000991", 100), ("CTX2", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", 200)):
        _post(run["WX_URL"] + "/__sim/bill-corruptions", {"mchid": DEFAULT_WX_MCHID, "bill_date": yesterday,
                                                         "knob": "add_foreign", "number": no, "receiver": receiver, "amount_fen": fen})
    default_app = run.get("DEFAULT_APP_ID", "default")
    for channel in ("wechat_pay", "ali_pay"):
        status, answer = admin_call(url, "POST", f"/admin/apps/{default_app}/reconcile", {"channel": channel, "day": yesterday},
                                    admin_credentials(run))
        if status != 202:
            print(f"fixtures: no reconciliation ({status} {answer})")
            return
    found["day"].append(yesterday)
    ask = {"channel": "wechat_pay", "day": yesterday}
    for _ in range(90):
        if merchant("/unipay/query/reconcileStatement", ask, must=False).get("code") == 0:
            break
        time.sleep(1)
    page = merchant("/unipay/query/reconcileDiscrepancies", dict(ask, pageSize=1), must=False)
    found["cursor"] = [page["nextCursor"]] if page.get("nextCursor") else []


# ---------------------------------------------------------------------------------------------
# Schemathesis hooks and checks (only when loaded by schemathesis).
# ---------------------------------------------------------------------------------------------

SECRET = os.environ.get("CONTRACT_SECRET", "")
SIGN_TYPE = os.environ.get("CONTRACT_SIGN_TYPE", "HMAC_SHA256")
SYSTEM_ERROR = 10001
SIGN_FAILURE = 20052
BETA4_SYSTEM_ERROR = 10500
# 2.0.7 and 2.0.8 names of the renamed members (SPEC §2.1), and ours of a sync of many
RENAMED = [("allocationNo", "allocNo"), ("bizAllocationNo", "bizAllocNo"), ("outAllocationNo", "outAllocNo"), ("allocationNos", "allocNos")]
# request members that name something, and the fixture list that has real ones
NAMES = {"allocationNo": "allocationNo", "allocNo": "allocationNo", "bizAllocationNo": "bizAllocationNo", "bizAllocNo": "bizAllocationNo",
         "orderNo": "orderNo", "bizOrderNo": "bizOrderNo", "receiverNo": "receiverNo", "groupNo": "groupNo",
         "returnNo": "returnNo", "bizReturnNo": "bizReturnNo", "day": "day", "from": "day", "to": "day"}
# members named by real things only on some paths: a discrepancies page's cursor
NAMES_ON = {"cursor": ("/unipay/query/reconcilediscrepancies", "cursor")}
FIXTURES: dict = {}
if os.environ.get("CONTRACT_FIXTURES"):
    with open(os.environ["CONTRACT_FIXTURES"], encoding="utf-8") as _f:
        FIXTURES = json.load(_f)
FIXTURE_RATE = float(os.environ.get("CONTRACT_FIXTURE_RATE", "0.5"))
# the running system (CONTRACT_RUN_ENV: its run.env): the apps beta4 requests may speak for,
# with their secrets, and the admin routes' credentials
RUN: dict = read_run_env(os.environ["CONTRACT_RUN_ENV"]) if os.environ.get("CONTRACT_RUN_ENV") else {}
DEFAULT_APP_ID = RUN.get("DEFAULT_APP_ID", "default")
APPS: dict = run_apps(RUN, SIGN_TYPE) if RUN else {DEFAULT_APP_ID: (SECRET, SIGN_TYPE)}
APPS[DEFAULT_APP_ID] = (SECRET or APPS[DEFAULT_APP_ID][0], SIGN_TYPE)
# the merchant of each app (a beta4 `mchNo` must be it)
APP_MCH = dict(FIXTURES.get("appMchNo", {}), **{DEFAULT_APP_ID: RUN.get("DEFAULT_MCH_NO", "default")})
# share of beta4 requests that speak for another app of the run than the default one
OTHER_APP_RATE = float(os.environ.get("CONTRACT_OTHER_APP_RATE", "0.2"))
ADMIN_CREDENTIALS = admin_credentials(RUN)
# what generated admin calls may name: state-changing ones never the run's own apps and
# merchants (PROTECTED_*), only the check's own (ADMIN_*) or ids nobody has; reads any
PROTECTED_APPS = set(FIXTURES.get("protectedAppId", [])) | set(APPS)
PROTECTED_MCH = set(FIXTURES.get("protectedMchNo", [])) | {RUN.get("DEFAULT_MCH_NO", "default")} | set(APP_MCH.values())
ADMIN_APPS = list(FIXTURES.get("adminAppId", []))
ADMIN_MCH = list(FIXTURES.get("adminMchNo", []))
PROTECTED_PROVIDERS = set(FIXTURES.get("protectedProviderId", [])) | ({RUN["ISV_PROVIDER_ID"]} if RUN.get("ISV_PROVIDER_ID") else set())
ADMIN_PROVIDERS = list(FIXTURES.get("adminProviderId", []))


def _kind(path: str) -> str:
    p = path.lower()
    if p.startswith(BETA4_PREFIX):
        return "beta4"
    if p.startswith("/unipay/"):
        return "merchant"
    if p.startswith("/feed/"):
        return "feed"
    if path.startswith("/admin/"):
        return "admin"
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

    start = path.lower() in ("/unipay/allocation/start", "/unipay/alloc/start")
    for member, value in list(body.items()):
        if member in NAMES and not (start and member in ("bizAllocationNo", "bizAllocNo")):
            body[member] = real(member, value)
        elif member in NAMES_ON and path.lower() == NAMES_ON[member][0] and isinstance(value, str):
            choices = FIXTURES.get(NAMES_ON[member][1], [])
            body[member] = pick(choices) if choices else value
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


def _beta4_prepare(body: dict, rand) -> None:
    """A beta4 request speaks for an app of the run (mostly the default one, whose fixtures it
    may name), with the app's merchant as `mchNo` half the time it has one, a fresh Beijing
    `reqTime` and `nonceStr`, amounts of at most two decimals, and its signature by the app's
    secret. A member generated of another type (a negative case) is left as it is."""
    others = [a for a in APPS if a != DEFAULT_APP_ID]
    if isinstance(body.get("appId"), str):
        body["appId"] = rand.choice(others) if others and rand.random() < OTHER_APP_RATE else DEFAULT_APP_ID
    app = body.get("appId") if isinstance(body.get("appId"), str) else None
    if isinstance(body.get("mchNo"), str) and app in APP_MCH and rand.random() < 0.5:
        body["mchNo"] = APP_MCH[app]
    receivers = body.get("receivers") if isinstance(body.get("receivers"), list) else []
    for item in receivers:
        amount = item.get("amount") if isinstance(item, dict) else None
        if isinstance(amount, float) and abs(amount - round(amount, 2)) < 1e-6:
            item["amount"] = round(amount, 2)  # 0.30000000000000004 (k x 0.01) back to 0.3
    body["reqTime"] = beijing_now()
    body["nonceStr"] = secrets.token_hex(8)
    body.pop("sign", None)
    secret, sign_type = APPS.get(app, (SECRET, SIGN_TYPE))
    body["sign"] = beta4_request_signature(body, secret, sign_type)


def own_account(account: dict) -> dict:
    """A provider's own account: a direct account's members without `mode`."""
    return {k: v for k, v in account.items() if k != "mode"}


def provider_accounts(provider: str) -> dict:
    """Accounts under service provider `provider` that a PUT of an app's account accepts once
    the provider has its accounts: a sub-merchant, and a merchant's authorisation (its tokens
    made up here, valid for a year)."""
    year = int(time.time()) + 365 * 86400
    return {"wechat_pay": {"mode": "provider", "provider": provider, "subMchid": "1900000998", "subAppid": "wx8888888888880998"},
            "ali_pay": {"mode": "provider", "provider": provider, "userId": "2088000000000998", "authAppId": "2021000000000998",
                        "appAuthToken": "202612BB" + secrets.token_hex(12), "appRefreshToken": "202612BB" + secrets.token_hex(12),
                        "expiresAt": year, "refreshExpiresAt": year + 7 * 86400}}


def _channel_accounts(run_env: str, run: dict) -> dict:
    """Direct accounts of both channels that a PUT accepts, made of the run's test keys (the
    `keys` folder scripts/run.sh writes beside run.env), for the check's own app only; a channel
    whose keys are not there is left out."""
    folder = os.path.join(os.path.dirname(run_env), "keys")

    def read(suffix):
        try:
            name = next(n for n in sorted(os.listdir(folder)) if n.endswith(suffix))
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                return f.read().strip()
        except (OSError, StopIteration):
            return None

    accounts = {}
    ali = (read("-alipay-app.key"), read("alipay-public.key"))
    if all(ali):
        accounts["ali_pay"] = {"mode": "direct", "appId": "2021000000000999", "privateKey": ali[0], "publicKey": ali[1],
                               "gatewayUrl": run.get("SIM_URL", "http://127.0.0.1") + "/gateway.do"}
    wx = (read("-wechat-merchant.key"), read("wechat-public.key"), read("wechat-apiv3.key"))
    if all(wx):
        accounts["wechat_pay"] = {"mode": "direct", "mchid": "1900000999", "appid": "wx8888888888888999", "merchantSerial": "7B8F" + "0" * 36,
                                  "publicKeyId": "PUB_KEY_ID_CONTRACT", "privateKey": wx[0], "publicKey": wx[1], "apiV3Key": wx[2],
                                  "baseUrl": run.get("WX_URL", "http://127.0.0.1")}
    return accounts


ACCOUNTS = _channel_accounts(os.environ.get("CONTRACT_RUN_ENV", ""), RUN) if RUN else {}


def _fresh_id() -> str:
    return "ct-" + secrets.token_hex(6)


def _admin_prepare(case, rand) -> None:
    """Names real merchants and apps in some admin calls. A call that changes something (not a
    GET) never names the run's own apps or merchants (PROTECTED_*): in its path such an id
    becomes the check's own merchant or app (made by the fixtures) or an id nobody has, and in
    a new merchant's or app's body an id nobody has (as half the other ids there); a new app
    goes under the check's own merchant now and then. Reads may name any (the registry's: not
    the default app)."""
    method, path = case.operation.method.upper(), case.operation.path
    pools = {"mchNo": (PROTECTED_MCH, ADMIN_MCH), "appId": (PROTECTED_APPS, ADMIN_APPS),
             "providerId": (PROTECTED_PROVIDERS, ADMIN_PROVIDERS)}
    readable = {k: sorted(p - {DEFAULT_APP_ID, APP_MCH.get(DEFAULT_APP_ID)}) + own for k, (p, own) in pools.items()}

    def in_path(kind, value):
        protected, own = pools[kind]
        if method != "GET":
            if value in protected:
                return rand.choice(own) if own and rand.random() < 0.5 else _fresh_id()
            return rand.choice(own) if own and rand.random() < FIXTURE_RATE else value
        return rand.choice(readable[kind]) if readable[kind] and rand.random() < FIXTURE_RATE else value

    params = case.path_parameters or {}
    for kind in ("mchNo", "appId", "providerId"):
        if isinstance(params.get(kind), str):
            params[kind] = in_path(kind, params[kind])
    if path in ("/admin/merchants", "/admin/apps", "/admin/providers") and method == "POST" and isinstance(case.body, dict):
        body = json.loads(json.dumps(case.body))
        for kind in ("mchNo", "appId", "providerId"):
            # a fresh id half the time, so that creations also succeed (generated and documented
            # ids are soon taken)
            if isinstance(body.get(kind), str) and (body[kind] in pools[kind][0] or rand.random() < FIXTURE_RATE):
                body[kind] = _fresh_id()
        if path == "/admin/apps" and isinstance(body.get("mchNo"), str) and ADMIN_MCH and rand.random() < FIXTURE_RATE:
            body["mchNo"] = rand.choice(ADMIN_MCH)
        case.body = body
    # a channel account that parses, now and then: on the check's own app, direct or under the
    # check's own provider; on that provider, its own
    channel = params.get("channel")
    if method == "PUT" and channel in ACCOUNTS and rand.random() < FIXTURE_RATE:
        if params.get("appId") in ADMIN_APPS:
            under = provider_accounts(rand.choice(ADMIN_PROVIDERS)) if ADMIN_PROVIDERS else {}
            case.body = dict(under[channel] if channel in under and rand.random() < 0.5 else ACCOUNTS[channel])
        elif params.get("providerId") in ADMIN_PROVIDERS:
            case.body = own_account(ACCOUNTS[channel])
    query = case.query or {}
    if isinstance(query.get("target"), str) and rand.random() < FIXTURE_RATE:
        kind = rand.choice(["app", "merchant"])
        choices = readable["appId" if kind == "app" else "mchNo"]
        if choices:
            query["target"] = f"{kind}:{rand.choice(choices)}"


class SigV4Auth:
    """A `requests` auth that signs the request as it is finally sent (URL with its query, body)
    with SigV4: `host`, `x-amz-date` and, with a body, `content-type` signed. It replaces the
    `Authorization` header schemathesis generates for the `sigv4` scheme (left in the case, so
    that the case stays what was generated)."""

    def __init__(self, credentials):
        self.credentials = credentials

    def __call__(self, r):
        from urllib.parse import urlsplit

        body = r.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        for name in [n for n in r.headers if n.lower() in ("authorization", "x-amz-date", "host")]:
            del r.headers[name]
        host = urlsplit(r.url).netloc.rpartition("@")[2]
        signed = {"host": host}
        content_type = r.headers.get("Content-Type")
        if content_type is not None:
            signed["content-type"] = content_type
        r.headers["Host"] = host
        r.headers.update(sigv4_sign(r.method, r.url, signed, body, *self.credentials))
        return r


def _sigv4_signed(response) -> bool:
    auth = (getattr(response.request, "headers", None) or {}).get("Authorization", "")
    return auth.startswith(f"{SIGV4_ALGORITHM} Credential={ADMIN_CREDENTIALS[0]}/")


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
    """`accepted`, `refused`, `error <code>` for a 2.0.x envelope; `accepted`, `refused <code>`
    (signed) or `error <code>` (unsigned) for a beta4 one; `HTTP <status>` otherwise."""
    answer = _json(content) if kind in ("merchant", "beta4") else None
    if kind == "beta4" and isinstance(answer, dict) and "code" in answer:
        if answer["code"] == 0:
            return "accepted"
        return f"{'refused' if 'sign' in answer else 'error'} {answer['code']}"
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
except ImportError:  # read for its signing rules only (the self-test, the fixtures)
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
        nonceStr; beta4's by its rule, for an app of the run), feed notices, and admin calls
        (SigV4, as they are finally sent)."""
        if not SECRET:
            raise RuntimeError("CONTRACT_SECRET (the running system's SIGN_SECRET) is not set")
        kind = _kind(case.operation.path)
        if kind == "admin":
            _admin_prepare(case, _random)
            kwargs["auth"] = SigV4Auth(ADMIN_CREDENTIALS)
            return
        params = case.path_parameters or {}
        providers = sorted(PROTECTED_PROVIDERS) + ADMIN_PROVIDERS
        if isinstance(params.get("providerId"), str) and providers and _random.random() < FIXTURE_RATE:
            # a provider's callback naming a real provider: refused all the same (not signed by
            # the channel), and nothing changes
            params["providerId"] = _random.choice(providers)
        if kind == "other" or not isinstance(case.body, dict):
            return
        body = json.loads(json.dumps(case.body))
        if kind in ("merchant", "beta4") and FIXTURES and _random.random() < FIXTURE_RATE:
            _use_fixtures(case.operation.path, body, _random.choice)
        if kind == "beta4":
            _beta4_prepare(body, _random)
        else:
            if kind == "merchant":
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
                if kind == "admin" and response.status_code >= 400:
                    STATS.add("positive refused: " + op, f"{response.status_code} {response.text[:90]} <- {response.request.url[-80:]} "
                                                         f"{json.dumps(_sent_body(response), ensure_ascii=False)[:220]}")
                elif kind != "admin" and isinstance(answer, dict) and answer.get("code") not in (0, None):
                    STATS.add("positive refused: " + op, f"{answer.get('code')} {str(answer.get('msg'))[:90]} <- {json.dumps(_sent_body(response), ensure_ascii=False)[:300]}")

    def _beta4_app(sent):
        """The secret and sign type of the app a sent beta4 request named, if it is the run's."""
        return APPS.get(sent.get("appId")) if isinstance(sent, dict) and isinstance(sent.get("appId"), str) else None

    @schemathesis.check
    def no_system_error(ctx, response, case):
        """No answer is an unexpected failure (envelope code 10001, 系统错误; beta4's 10500)."""
        kind = _kind(case.operation.path)
        if kind not in ("merchant", "beta4"):
            return None
        answer = _json(response.content)
        code = SYSTEM_ERROR if kind == "merchant" else BETA4_SYSTEM_ERROR
        if isinstance(answer, dict) and answer.get("code") == code:
            raise AssertionError(f"envelope code {code} (系统错误) for a merchant request: {answer}")
        return None

    @schemathesis.check
    def signed_request_not_refused_for_signature(ctx, response, case):
        """A request signed by our rule (beta4's by its rule, with the secret of the app it names)
        is never refused for its signature (20052), nor a signed feed notice (401), nor an admin
        call signed with SigV4 (403)."""
        kind = _kind(case.operation.path)
        if kind == "admin":
            if response.status_code == 403 and _sigv4_signed(response):
                raise AssertionError(f"a SigV4-signed admin call was answered 403: {response.content!r}")
            return None
        sent = _sent_body(response)
        if kind == "other" or not isinstance(sent, dict):
            return None
        if kind == "beta4":
            app = _beta4_app(sent)
            if app is None or not beta4_request_verifies(sent, *app):
                return None
        elif not verifies(sent, SECRET, SIGN_TYPE):
            return None
        if kind in ("merchant", "beta4"):
            answer = _json(response.content)
            if isinstance(answer, dict) and answer.get("code") == SIGN_FAILURE:
                raise AssertionError(f"a correctly signed request was answered {SIGN_FAILURE} (验签失败): {answer}")
        elif response.status_code == 401:
            raise AssertionError(f"a correctly signed notice was answered 401: {response.content!r}")
        return None

    @schemathesis.check
    def answer_signature_valid(ctx, response, case):
        """Every signed `data` verifies with the secret (SPEC §3: answers are signed too); every
        signed beta4 answer verifies over its envelope with the secret of the app it answers."""
        kind = _kind(case.operation.path)
        if kind == "beta4":
            answer = read_answer(response.content)
            app = _beta4_app(_sent_body(response))
            # an unknown app's refusal is signed with a secret nobody holds (no oracle on app ids)
            if isinstance(answer, dict) and "sign" in answer and app is not None and not beta4_answer_verifies(answer, *app):
                raise AssertionError(f"the beta4 answer's sign does not verify over its envelope: {response.text}")
            return None
        if kind != "merchant":
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
    real (verifies with one of EXAMPLE_SECRETS, by the rule of its endpoint: beta4's over a
    beta4 request or envelope) unless its summary says it is illustrative."""
    import jsonschema_rs

    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    components = doc.get("components", {})
    count, problems = 0, []
    for route, item in doc["paths"].items():
        beta4 = route.lower().startswith(BETA4_PREFIX)
        for method, op in item.items():
            media = [("request", m) for m in op.get("requestBody", {}).get("content", {}).values()]
            media += [(code, components.get("responses", {}).get(r["$ref"].rpartition("/")[2], {}) if "$ref" in r else r)
                      for code, r in op["responses"].items()]
            media = [(where, m) for where, r in media for m in ([r] if where == "request" else r.get("content", {}).values())]
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
                    illustrative = "illustrative" in e.get("summary", "")
                    if beta4:
                        # the request over its members, the answer over its envelope
                        real = (not isinstance(value, dict) or "sign" not in value or any(
                            (beta4_request_verifies(value, s, t) if where == "request" else beta4_answer_verifies(read_answer(json.dumps(value)), s, t))
                            for s in EXAMPLE_SECRETS for t in ("HMAC_SHA256", "MD5")))
                        if not illustrative and not real:
                            problems.append(f"{label}: its signature is not real (beta4's rule) and the example is not marked illustrative")
                        continue
                    signed = [v for v in (value, value.get("data") if isinstance(value, dict) else None)
                              if isinstance(v, dict) and "sign" in v]
                    for obj in signed:
                        if not illustrative and not any(verifies(obj, s, t) for s in EXAMPLE_SECRETS for t in ("HMAC_SHA256", "MD5")):
                            problems.append(f"{label}: its signature is not real and the example is not marked illustrative")
    for p in problems:
        print("  FAIL " + p)
    print(f"document: {count - len(problems)} of {count} examples match their schemas, with real signatures")
    return 1 if problems else 0


def _main(args: list[str]) -> int:
    if args[:1] == ["fixtures"] and len(args) == 3:
        run = read_run_env(args[1])
        found = make_fixtures(run, run["SIGN_SECRET"], os.environ.get("CONTRACT_SIGN_TYPE", "HMAC_SHA256"), args[1])
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
