#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*)
from the repository's own samples, rule pack, rule documentation and model.
Re-run after changing those; inputs found by fuzzing (regressions) are
committed beside the seeds with a `crash-` or `regress-` name."""
import json, os, re, hashlib, struct

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "fuzz", "corpus")

def write(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

posts = [json.loads(l) for l in open(os.path.join(root, "datasets/samples/posts.jsonl"), encoding="utf-8") if l.strip()]
lines = [l for l in open(os.path.join(root, "datasets/samples/posts.jsonl"), encoding="utf-8").read().splitlines() if l.strip()]
FORMAT = {"text": 0, "markdown": 1, "html": 2}

# post_json: the sample posts as sent, plus the wire format's edge cases.
for i, l in enumerate(lines):
    write("post_json", f"sample-{i:02}", l)
write("post_json", "lone-surrogate", r'{"id":"1","body":"free \ud800 btc","format":"html","author":{"id":"a","name":"\udfff"}}')
write("post_json", "markdown", '{"id":"2","title":"t","body":"[binance.com](https://evil.example) **free**","format":"markdown","lang":"en","forum":"help"}')

# markup: selector byte (0 text, 1 markdown, 2 html) then the body.
def text(v):
    return v if isinstance(v, str) else ""


bodies = [text(p.get("body")) for p in posts]
snippets = {
    "html-entities": (2, '<p>Visit <a href="https://evil.example/login">&#98;inance.com</a> &amp;&#x1F600;&#xD800;&#99999999;&</p>'),
    "html-hidden": (2, '<div><script>var a="<a href=x>"</script><style>p{}</style>hi<br>there<img alt="binance.com"></div>'),
    "html-broken": (2, '<a href=\'https://a.b/\u00e9\'>x<a href="y"<p>&#98<!-- c --><![CDATA[z]]></a>\u3042'),
    "md-links": (1, '[binance.com](https://evil.example "t") <https://a.b> ![img](x.png) [ref][1]\n\n[1]: https://ref.example\n'),
    "md-code": (1, '```\ncode <a href=x>\n```\n`inline` *e\u0301m* __b__ > quote\n- item\n1. one'),
    "md-html": (1, 'text <a href="https://x.example">in html</a> and &#98;&amp; \\*esc\\*'),
    "text-nasty": (0, '\u200b\u202e\ufeff\ufffd e\u0301\u0308\uff76\uff9e\uff9e \ufdfa\ufb2c\u3300'),
}
for name, (fmt, body) in snippets.items():
    write("markup", name, bytes([fmt]) + body.encode())
for i, b in enumerate(bodies):
    write("markup", f"sample-{i:02}-md", bytes([1]) + b.encode())
    write("markup", f"sample-{i:02}-html", bytes([2]) + ("<p>" + b.replace(" ", " <b>", 1) + "</b></p>").encode())

# score: selector (bits 0-1 format, 0x04 title, 0x08 author name, 0x10 forum,
# 0x20 lang, 0x40 author) then body, title, name, forum, lang split by U+001F.
for i, p in enumerate(posts):
    sel = FORMAT.get(text(p.get("format")), 0) | 0x04 | 0x08 | 0x10 | 0x40
    author = p.get("author") if isinstance(p.get("author"), dict) else {}
    parts = [text(p.get("body")), text(p.get("title")), text(author.get("name")), text(p.get("forum"))]
    write("score", f"sample-{i:02}", bytes([sel]) + "\x1f".join(parts).encode())
for name, (fmt, body) in snippets.items():
    write("score", name, bytes([fmt | 0x40]) + body.encode())
write("score", "exposure", bytes([0]) + ("abandon " * 11 + "about").encode())
write("score", "addresses", bytes([0x24]) + "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq hxxp://evil[.]com\x1fb i n a n c e f.r.e.e\x1f\x1f\x1fja".encode())

# rules: the complete file of the rules module's documentation, the default
# pack's header and a few of its rules (each alone, and with the header).
doc = open(os.path.join(root, "moderation-core/src/rules/mod.rs"), encoding="utf-8").read()
m = re.search(r'let set = RuleSet::from_toml\("my-forum.toml", r#"\n(.*?)"#\)', doc, re.S)
if m:
    write("rules", "doc-example", "\n".join(l.removeprefix("//! ").removeprefix("//!") for l in m.group(1).split("\n")))
pack = open(os.path.join(root, "moderation-core/rules/default.toml"), encoding="utf-8").read()
head, _, body = pack.partition("\n[[rule]]\n")
settings = head.split("\n[conditions]\n")[0]
write("rules", "pack-settings", settings)
rules = ["[[rule]]\n" + r for r in ("\n[[rule]]\n" + body).split("\n[[rule]]\n")[1:]]
picked = rules[:: max(1, len(rules) // 10)][:10]
for i, r in enumerate(picked):
    write("rules", f"pack-rule-{i:02}", r)
write("rules", "pack-head-and-rule", head + "\n" + picked[0])
write("rules", "tiny", '[ruleset]\nname = "t"\nversion = "1"\n\n[[rule]]\nid = "spam.t"\ncategory = "spam"\nweight = 1.0\ndescription = "d"\nwhen = { regex = "(a+)+$" }\n')

# model: the shipped model's header and first bytes (as a file, failing the
# checksum), and prefixes of its payload in the wrapped form that `model`
# gives a valid header (selector byte: format version 1 + b % FORMAT_VERSION).
model = open(os.path.join(root, "models/default.model"), "rb").read()
version = struct.unpack("<I", model[8:12])[0]
payload = model[52:]
write("model", "shipped-head", model[:512])
for n in (64, 512, 4096):
    write("model", f"shipped-payload-{n}", bytes([version - 1]) + payload[:n])

# feeds: the feed test files (every format, good and bad), the head of the
# brand registry (its header and first brands) and hosts to judge.
feed_dir = os.path.join(root, "moderation-core/tests/data/feeds")
for name in sorted(os.listdir(feed_dir)):
    if name != "cases.toml":
        write("feeds", name, open(os.path.join(feed_dir, name), "rb").read())
registry = open(os.path.join(root, "moderation-core/brands/registry.toml"), encoding="utf-8").read()
reg_head, _, reg_body = registry.partition("\n[[brand]]\n")
brands = ["[[brand]]\n" + b for b in ("\n[[brand]]\n" + reg_body).split("\n[[brand]]\n")[1:]]
write("feeds", "registry-head", reg_head + "\n" + "\n".join(brands[:6]))
write("feeds", "registry-japan", "\n".join(b for b in brands if ".jp" in b or "z.com" in b))
write("feeds", "hosts", "okx-listingpoll.pages.dev\nwww.binance.th\nclaim-rewards-eligibility.pages.dev\nxn--bnance-pvf.com\nbinance.com.verify-account.io\n||evil.example^\n0.0.0.0 evil.example\nhttps://a.evil.example/x\n")

# webhook: `now` (8 bytes, little-endian), the signature header, NUL, the body.
# The headers are made here as the service makes them (HMAC-SHA256 over
# "<t>.<body>"), so the seeds start from valid signatures.
import hmac as _hmac
def signed(t, body, secrets):
    parts = ["t=%d" % t] + ["v1=" + _hmac.new(s.encode(), ("%d." % t).encode() + body, "sha256").hexdigest() for s in secrets]
    return ",".join(parts)
event = b'{"event":"decision","action":"remove","item_id":1,"version":2}'
for name, now, t, secrets in [("valid", 1000, 1000, ["k1"]), ("rotation", 1010, 1000, ["k2", "k1"]),
                              ("stale", 5000, 1000, ["k1"]), ("other-secret", 1000, 1000, ["nope"]),
                              ("extreme", -2**63, 2**63 - 1, ["k1"])]:
    write("webhook", name, struct.pack("<q", now) + signed(t, event, secrets).encode() + b"\0" + event)
write("webhook", "malformed", struct.pack("<q", 0) + b"t=,v1=zz,,=\0")

