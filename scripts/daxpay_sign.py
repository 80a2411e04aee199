"""DaxPay's request signature, for the scripts that play a merchant (scripts/soak.py,
scripts/chaos.py): the sorted `key=value` pairs of a body of scalars and lists of flat objects
(each object `{k:v,...}` with its keys sorted case-insensitively, null members left out), quotes
and backslashes removed, `&key=<secret>` appended, then HMAC-SHA256 (hex) or MD5."""
import hashlib
import hmac


def signature(body, secret, sign_type="HMAC_SHA256"):
    parts = []
    for k in sorted(body):
        v = body[k]
        if v is None or k == "sign" or v == []:
            continue
        if isinstance(v, list):
            items = []
            for o in v:
                pairs = sorted(((a, b) for a, b in o.items() if b is not None), key=lambda kv: kv[0].lower())
                items.append("{" + ",".join(f"{a}:{b}" for a, b in pairs) + "}")
            v = "[" + ",".join(items) + "]"
        elif isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{k}={v}")
    text = "&".join(parts).replace('"', "").replace("\\", "") + "&key=" + secret
    if sign_type == "MD5":
        return hashlib.md5(text.encode()).hexdigest()
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
