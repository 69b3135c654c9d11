#!/usr/bin/env python3
"""Validate the brand registry (registry.toml) and recompute its `sources`.

Usage:
    python3 check_registry.py [DATASETS] [--registry FILE] [--psl FILE]

DATASETS is the shared datasets folder; when not given, $MODERATION_DATASETS is used,
else `../../../shared/datasets` relative to this script. If it does not exist, the
`sources` recomputation is skipped (with a notice) and only the format is checked.

The Public Suffix List is read from --psl, $MODERATION_PSL or the system copy
(/usr/share/publicsuffix/public_suffix_list.dat, Debian package `publicsuffix`);
when none is found a small built-in list of multi-label suffixes is used instead.

Checks (any failure -> exit status 1):
  * top-level format: only [registry] (name, version) and [[brand]] tables, and only
    the known keys in each (the Rust side parses with deny_unknown_fields);
  * each brand: name (unique), kind (one of KINDS), domains and/or hosts, tokens,
    word (bool), sources (known names, "curated" first, in canonical order);
  * domains: lowercase ASCII registrable domains (eTLD+1 under the PSL, at least one dot),
    never a public suffix nor a hosting platform (PLATFORMS) or anything under one;
  * hosts: exact hosts, either under a platform or a proper subdomain (never a
    registrable domain), and not already covered by a domain in the registry;
  * tokens: [a-z0-9]{3,}, not a generic word (GENERIC); when `tokens` is absent the
    registrable labels of the domains are the tokens and must satisfy the same rule;
  * no domain, host or (effective) token appears twice in the whole registry;
  * entries are ordered by kind (KINDS order), then by name (case-insensitive);
  * the hosts named in the issue (ISSUE_HOSTS) are covered;
  * the recorded `sources` equal the recomputed ones (datasets present).
"""
from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import re
import sys
import tomllib
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent

KINDS = ["exchange", "wallet", "defi", "nft", "chain", "launchpad", "service"]
SOURCES = ["curated", "metamask-whitelist", "metamask-fuzzylist", "trustwallet-wallet-core",
           "ethereum-lists-tokens"]
REGISTRY_KEYS = {"name", "version"}
BRAND_KEYS = {"name", "kind", "domains", "hosts", "tokens", "word", "sources"}

# Shared platforms: a brand never owns these; only exact brand subdomains of them go in
# `hosts`. Kept in line with `free_hosting` in rules/default.toml plus help-desk,
# blogging and social platforms.
PLATFORMS = {
    "github.io", "github.com", "gitlab.io", "gitbook.io", "pages.dev", "workers.dev", "vercel.app",
    "netlify.app", "web.app", "firebaseapp.com", "herokuapp.com", "onrender.com", "glitch.me",
    "surge.sh", "replit.app", "repl.co", "webflow.io", "framer.website", "framer.app",
    "wixsite.com", "weebly.com", "000webhostapp.com", "azurewebsites.net", "blogspot.com",
    "wordpress.com", "carrd.co", "typedream.app", "4everland.app", "fleek.co", "ipfs.io",
    "dweb.link", "cloudflare-ipfs.com", "eth.limo", "eth.link", "ngrok.io", "ngrok-free.app",
    "zendesk.com", "freshdesk.com", "intercom.help", "helpscoutdocs.com", "readthedocs.io",
    "medium.com", "substack.com", "mirror.xyz", "notion.site", "notion.so", "super.site",
    "t.me", "telegram.me", "discord.gg", "discord.com", "twitter.com", "x.com", "linktr.ee",
    "app.link", "js.org", "sites.google.com", "google.com", "typeform.com",
}

# Labels that must never be a token on their own (too generic to mean one brand).
GENERIC = {
    "app", "wallet", "wallets", "finance", "swap", "exchange", "network", "protocol", "crypto",
    "coin", "coins", "token", "tokens", "chain", "defi", "dao", "nft", "nfts", "web3", "labs",
    "money", "cash", "pay", "trade", "trading", "bank", "global", "official", "support",
    "help", "login", "secure", "airdrop", "claim", "bridge", "stake", "staking", "market",
    "markets", "blockchain", "ether", "eth", "btc", "dex", "cex", "www", "world", "pump",
    "four", "team", "the", "com", "org", "net", "xyz", "web", "docs", "portal", "scan",
    "explorer", "status", "link", "meta", "open", "get", "one", "verify",
}

# Hosts named in the issue this registry serves: they must be covered.
ISSUE_HOSTS = ["www.binance.org", "www.binance.th", "www.bybit.eu", "bitflyer.jp",
               "metamask.github.io", "metamask.zendesk.com", "binance-docs.github.io"]

# Used only when no Public Suffix List file can be found: the multi-label suffixes that
# matter for this registry (single-label TLDs need no entry).
FALLBACK_SUFFIXES = {
    "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "com.br", "com.au", "net.au",
    "co.uk", "org.uk", "co.id", "co.in", "com.tr", "co.th", "in.th", "com.sg", "com.hk",
    "com.tw", "com.mx", "com.ar", "co.za", "co.nz", "com.ng", "com.ph", "com.my",
    "github.io", "gitlab.io", "pages.dev", "workers.dev", "vercel.app", "netlify.app", "web.app",
    "firebaseapp.com", "herokuapp.com", "blogspot.com", "js.org",
}

LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_RE = re.compile(rf"^{LABEL}(?:\.{LABEL})+$")
TOKEN_RE = re.compile(r"^[a-z0-9]{3,}$")


class Psl:
    """Public Suffix List lookup (the PSL algorithm: rules, wildcards, exceptions)."""

    def __init__(self, path: Path | None):
        self.rules: set[str] = set()
        self.wild: set[str] = set()
        self.exc: set[str] = set()
        self.source = "built-in fallback list"
        if path and path.is_file():
            self.source = str(path)
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("//"):
                    continue
                rule = line.split()[0].lower()
                try:
                    rule = rule.encode("idna").decode("ascii") if not rule.isascii() else rule
                except UnicodeError:
                    continue
                if rule.startswith("!"):
                    self.exc.add(rule[1:])
                elif rule.startswith("*."):
                    self.wild.add(rule[2:])
                else:
                    self.rules.add(rule)
        else:
            self.rules = set(FALLBACK_SUFFIXES)

    def suffix_len(self, labels: list[str]) -> int:
        """Number of labels of the public suffix of `labels` (at least 1)."""
        best = 1
        for i in range(len(labels)):
            cand = ".".join(labels[i:])
            n = len(labels) - i
            if cand in self.exc:
                return n - 1
            if cand in self.rules and n > best:
                best = n
            if i > 0 and cand in self.wild and n + 1 > best:
                best = n + 1
        return best

    def is_suffix(self, host: str) -> bool:
        labels = host.split(".")
        return self.suffix_len(labels) >= len(labels)

    def registrable(self, host: str) -> str | None:
        labels = host.split(".")
        n = self.suffix_len(labels)
        if n >= len(labels):
            return None
        return ".".join(labels[-(n + 1):])


def find_psl(arg: str | None) -> Path | None:
    if arg == "builtin":  # force the built-in fallback list (for testing)
        return None
    for cand in (arg, os.environ.get("MODERATION_PSL"), "/usr/share/publicsuffix/public_suffix_list.dat"):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def on_platform(host: str) -> str | None:
    """The platform `host` is strictly under, if any."""
    for p in PLATFORMS:
        if host.endswith("." + p):
            return p
    return None


def under(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def url_host(url: str) -> str:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    try:
        h = (urllib.parse.urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""
    return h[4:] if h.startswith("www.") else h


def effective_tokens(b: dict) -> list[str]:
    if "tokens" in b:
        return list(b["tokens"])
    out = []
    for d in b.get("domains", []):
        lab = d.split(".")[0]
        if lab not in out:
            out.append(lab)
    return out


def load_datasets(root: Path, psl: Psl):
    """The four comparison sets, or None when the datasets folder is missing."""
    cfg = root / "eth-phishing-detect-metamask" / "config.json"
    tw = root / "crypto-official-domains" / "trustwallet-wallet-core-registry.json"
    el = root / "crypto-official-domains" / "ethereum-lists-token-websites.tsv"
    if not (cfg.is_file() and tw.is_file() and el.is_file()):
        return None
    c = json.loads(cfg.read_text(encoding="utf-8"))
    sets = {
        "metamask-whitelist": {h.lower() for h in c.get("whitelist", [])},
        "metamask-fuzzylist": {h.lower() for h in c.get("fuzzylist", [])},
    }
    twh = set()
    for coin in json.loads(tw.read_text(encoding="utf-8")):
        u = (coin.get("info") or {}).get("url")
        if u:
            twh.add(url_host(u))
    sets["trustwallet-wallet-core"] = {h for h in twh if h}
    elh = set()
    with el.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            h = url_host(row.get("website") or "")
            if h:
                elh.add(h)
    sets["ethereum-lists-tokens"] = elh
    return sets


def recompute_sources(b: dict, sets: dict, psl: Psl) -> list[str]:
    doms, hosts = b.get("domains", []), b.get("hosts", [])
    out = ["curated"]
    # MetaMask lists and ethereum-lists: a listed host equal to or under one of the
    # brand's domains, or equal to one of its exact hosts.
    def hit(listed: set[str]) -> bool:
        return any(h in listed for h in hosts) or any(
            under(x, d) for x in listed for d in doms)
    if hit(sets["metamask-whitelist"]):
        out.append("metamask-whitelist")
    if hit(sets["metamask-fuzzylist"]):
        out.append("metamask-fuzzylist")
    # Trust Wallet: the registrable domain of an info.url equals one of the brand's
    # domains (or the info.url host is one of its exact hosts, e.g. base.mirror.xyz).
    tw = sets["trustwallet-wallet-core"]
    if any(psl.registrable(h) in doms or h in hosts for h in tw):
        out.append("trustwallet-wallet-core")
    if hit(sets["ethereum-lists-tokens"]):
        out.append("ethereum-lists-tokens")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("datasets", nargs="?", help="shared datasets folder")
    ap.add_argument("--registry", default=str(HERE / "registry.toml"))
    ap.add_argument("--psl", help="public_suffix_list.dat, or 'builtin' for the built-in fallback")
    a = ap.parse_args()

    psl = Psl(find_psl(a.psl))
    errors: list[str] = []
    err = errors.append

    with open(a.registry, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            print(f"error: {a.registry}: {e}")
            return 1

    for k in data:
        if k not in ("registry", "brand"):
            err(f"unknown top-level key {k!r}")
    reg = data.get("registry")
    if not isinstance(reg, dict):
        err("missing [registry] table")
    else:
        for k in reg:
            if k not in REGISTRY_KEYS:
                err(f"[registry]: unknown key {k!r}")
        for k in REGISTRY_KEYS:
            if not isinstance(reg.get(k), str) or not reg.get(k):
                err(f"[registry]: {k} must be a non-empty string")
    brands = data.get("brand")
    if not isinstance(brands, list) or not brands:
        err("no [[brand]] tables")
        brands = []

    seen_name: dict[str, int] = {}
    dom_owner: dict[str, str] = {}
    host_owner: dict[str, str] = {}
    tok_owner: dict[str, str] = {}
    prev_key = None

    for i, b in enumerate(brands):
        where = f"brand #{i + 1} ({b.get('name', '?')})"
        for k in b:
            if k not in BRAND_KEYS:
                err(f"{where}: unknown key {k!r}")
        name = b.get("name")
        if not isinstance(name, str) or not name.strip():
            err(f"{where}: name must be a non-empty string")
            name = f"#{i + 1}"
        elif name.casefold() in seen_name:
            err(f"{where}: duplicate name (also brand #{seen_name[name.casefold()]})")
        else:
            seen_name[name.casefold()] = i + 1
        kind = b.get("kind")
        if kind not in KINDS:
            err(f"{where}: kind {kind!r} not one of {KINDS}")
        else:
            key = (KINDS.index(kind), name.casefold())
            if prev_key is not None and key < prev_key:
                err(f"{where}: out of order (entries are sorted by kind, then name)")
            prev_key = key
        if "word" in b and not isinstance(b["word"], bool):
            err(f"{where}: word must be true or false")

        for fld in ("domains", "hosts", "tokens", "sources"):
            if fld in b and (not isinstance(b[fld], list) or not all(isinstance(x, str) for x in b[fld])):
                err(f"{where}: {fld} must be an array of strings")
                b[fld] = []
        doms, hosts = b.get("domains", []), b.get("hosts", [])
        if "domains" not in b and "hosts" not in b:
            err(f"{where}: needs domains (or hosts)")
        if "domains" in b and not doms:
            err(f"{where}: domains is empty")
        if "hosts" in b and not hosts:
            err(f"{where}: hosts is empty")
        if not doms and "tokens" not in b:
            err(f"{where}: an entry with hosts only needs explicit tokens")

        for d in doms:
            if not HOST_RE.match(d):
                err(f"{where}: domain {d!r} is not a lowercase ASCII domain name")
                continue
            if d in PLATFORMS or on_platform(d):
                err(f"{where}: domain {d!r} is a hosting platform (or under one): use hosts")
            if psl.is_suffix(d):
                err(f"{where}: domain {d!r} is a public suffix")
            elif psl.registrable(d) != d:
                err(f"{where}: domain {d!r} is not registrable (eTLD+1 is {psl.registrable(d)!r})")
            if d in dom_owner:
                err(f"{where}: domain {d!r} already in {dom_owner[d]}")
            dom_owner.setdefault(d, name)
        for h in hosts:
            if not HOST_RE.match(h):
                err(f"{where}: host {h!r} is not a lowercase ASCII host name")
                continue
            if h in PLATFORMS:
                err(f"{where}: host {h!r} is a platform itself")
            elif not on_platform(h) and (psl.is_suffix(h) or psl.registrable(h) == h):
                err(f"{where}: host {h!r} is neither on a platform nor a subdomain (use domains)")
            if h in host_owner:
                err(f"{where}: host {h!r} already in {host_owner[h]}")
            host_owner.setdefault(h, name)

        if "tokens" in b and not b["tokens"]:
            err(f"{where}: tokens is empty")
        toks = effective_tokens(b)
        for t in toks:
            origin = "token" if "tokens" in b else "derived token (registrable label)"
            if not TOKEN_RE.match(t):
                err(f"{where}: {origin} {t!r} is not [a-z0-9]{{3,}}: give explicit tokens")
            elif t in GENERIC:
                err(f"{where}: {origin} {t!r} is generic: give explicit tokens")
            if t in tok_owner and tok_owner[t] != name:
                err(f"{where}: token {t!r} already used by {tok_owner[t]}")
            tok_owner.setdefault(t, name)
        if len(set(toks)) != len(toks):
            err(f"{where}: repeated token")

        srcs = b.get("sources")
        if not srcs:
            err(f"{where}: sources is required")
        else:
            bad = [s for s in srcs if s not in SOURCES]
            if bad:
                err(f"{where}: unknown sources {bad}")
            elif srcs != sorted(set(srcs), key=SOURCES.index):
                err(f"{where}: sources must be unique and in the order {SOURCES}")
            if "curated" not in srcs:
                err(f"{where}: sources must include 'curated'")

    # Hosts already covered by some domain are redundant (and hide mistakes).
    for h, owner in host_owner.items():
        for d, downer in dom_owner.items():
            if under(h, d):
                err(f"{owner}: host {h!r} is already covered by domain {d!r} of {downer}")
    for need in ISSUE_HOSTS:
        if not (need in host_owner or any(under(need, d) for d in dom_owner)):
            err(f"issue host {need!r} is not covered")

    # Recompute `sources`.
    if a.datasets:
        root = Path(a.datasets)
    elif os.environ.get("MODERATION_DATASETS"):
        root = Path(os.environ["MODERATION_DATASETS"])
    else:
        root = (HERE / "../../../shared/datasets").resolve()
    sets = load_datasets(root, psl)
    mismatches = 0
    if sets is None:
        print(f"notice: datasets not found under {root}: sources not recomputed")
    else:
        for b in brands:
            if not isinstance(b.get("sources"), list):
                continue
            want = recompute_sources(b, sets, psl)
            if b["sources"] != want:
                mismatches += 1
                print(f"sources differ: {b.get('name')}: recorded {b['sources']} recomputed {want}")
        if mismatches:
            err(f"{mismatches} entries with sources that differ from the datasets")

    for e in errors:
        print("error:", e)

    per_kind = collections.Counter(b.get("kind") for b in brands)
    per_src = collections.Counter(s for b in brands for s in (b.get("sources") or []))
    n_dom = sum(len(b.get("domains", [])) for b in brands)
    n_host = sum(len(b.get("hosts", [])) for b in brands)
    n_tok = len(tok_owner)
    n_word = sum(1 for b in brands if b.get("word") is True)
    print(f"registry: {a.registry}")
    print(f"public suffix list: {psl.source}")
    print(f"datasets: {root if sets is not None else '(not found)'}")
    print(f"brands: {len(brands)}  domains: {n_dom}  hosts: {n_host}  tokens: {n_tok}  word brands: {n_word}")
    print("per kind:   " + "  ".join(f"{k} {per_kind.get(k, 0)}" for k in KINDS))
    print("per source: " + "  ".join(f"{s} {per_src.get(s, 0)}" for s in SOURCES))
    if errors:
        print(f"FAILED: {len(errors)} errors")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
