#!/usr/bin/env python3
"""Validate lookalike_hosts.toml (the fire/pass host tables for look-alike detection).

Checks: every host is lowercase ASCII (punycode allowed) and a plausible host name;
no host appears twice across both tables; every fire entry has brand, why and source
(brand may be "" for unbranded lure hosts); every pass entry has why and source;
every punycode label decodes. Prints counts per table, per source and for brand == "".
Exit status 1 on any error. Standard library only (Python 3.11+ for tomllib).

Usage: python3 check_lookalike_hosts.py [path/to/lookalike_hosts.toml]
"""
import codecs
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

DEFAULT = Path(__file__).with_name("lookalike_hosts.toml")
LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
KNOWN_SOURCES = {"team", "metamask-blacklist", "jpcert-2025", "metamask-whitelist"}


def check_host(host, errors, where):
    if not isinstance(host, str) or not host:
        errors.append(f"{where}: missing or empty host")
        return
    if not host.isascii():
        errors.append(f"{where}: host {host!r} is not ASCII (use punycode)")
        return
    if host != host.lower():
        errors.append(f"{where}: host {host!r} is not lowercase")
    if len(host) > 253 or host.endswith(".") or "." not in host:
        errors.append(f"{where}: host {host!r} is not a plausible host name")
    for label in host.split("."):
        if not LABEL.match(label):
            errors.append(f"{where}: host {host!r} has a bad label {label!r}")
            continue
        if label.startswith("xn--"):
            try:
                decoded = codecs.decode(label[4:], "punycode")
            except Exception as e:  # noqa: BLE001 - any decode failure is an error
                errors.append(f"{where}: punycode label {label!r} of {host!r} does not decode: {e}")
                continue
            if not decoded or decoded.isascii():
                errors.append(f"{where}: punycode label {label!r} of {host!r} decodes to ASCII {decoded!r}")
                continue
            try:  # IDNA 2003 round trip (stdlib encodings.idna): catches junk such as xn--a -> '\x80'
                back = decoded.encode("idna").decode("ascii")
            except UnicodeError as e:
                errors.append(f"{where}: punycode label {label!r} of {host!r} is not valid IDNA: {e}")
                continue
            if back != label:
                errors.append(f"{where}: punycode label {label!r} of {host!r} does not round-trip (got {back!r})")
        elif label[2:4] == "--":
            errors.append(f"{where}: label {label!r} of {host!r} has '--' in positions 3-4 but is not xn--")


def main():
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    errors = []
    with open(path, "rb") as fh:
        data = tomllib.load(fh)

    extra = set(data) - {"fire", "pass"}
    if extra:
        errors.append(f"unexpected top-level keys: {sorted(extra)}")

    seen = {}
    counts = {}
    for table, required in (("fire", ("host", "brand", "why", "source")), ("pass", ("host", "why", "source"))):
        entries = data.get(table, [])
        if not isinstance(entries, list) or not entries:
            errors.append(f"[[{table}]] is missing or empty")
            entries = []
        counts[table] = len(entries)
        for i, e in enumerate(entries):
            where = f"{table}[{i}]"
            host = e.get("host")
            check_host(host, errors, where)
            for key in required:
                if key not in e:
                    errors.append(f"{where} ({host}): missing {key}")
                elif not isinstance(e[key], str):
                    errors.append(f"{where} ({host}): {key} is not a string")
                elif key != "brand" and not e[key].strip():
                    errors.append(f"{where} ({host}): empty {key}")
            if table == "pass" and "brand" in e:
                errors.append(f"{where} ({host}): pass entries carry no brand")
            brand = e.get("brand")
            if isinstance(brand, str) and brand and not re.fullmatch(r"[a-z0-9]+", brand):
                errors.append(f"{where} ({host}): brand {brand!r} is not a lowercase token")
            src = e.get("source")
            if isinstance(src, str) and src not in KNOWN_SOURCES:
                errors.append(f"{where} ({host}): unknown source {src!r}")
            if table == "pass" and src == "jpcert-2025" or table == "pass" and src == "metamask-blacklist":
                errors.append(f"{where} ({host}): a pass host cannot come from a phishing list")
            unknown = set(e) - {"host", "brand", "why", "source"}
            if unknown:
                errors.append(f"{where} ({host}): unknown keys {sorted(unknown)}")
            if isinstance(host, str):
                if host in seen:
                    errors.append(f"{where}: duplicate host {host!r} (first at {seen[host]})")
                else:
                    seen[host] = where

    fire = data.get("fire", [])
    passes = data.get("pass", [])
    print(f"{path}")
    print(f"fire: {counts.get('fire', 0)}   pass: {counts.get('pass', 0)}   distinct hosts: {len(seen)}")
    for table, entries in (("fire", fire), ("pass", passes)):
        by_src = Counter(e.get("source") for e in entries)
        print(f"  {table} by source: " + ", ".join(f"{k}={v}" for k, v in sorted(by_src.items(), key=str)))
    unbranded = [e for e in fire if e.get("brand") == ""]
    print(f"  fire with brand == \"\": {len(unbranded)}")
    branded = [e for e in fire if e.get("brand")]
    print(f"  fire with a brand: {len(branded)} ({len({e['brand'] for e in branded})} distinct brands)")
    print(f"  punycode hosts: fire={sum('xn--' in e.get('host', '') for e in fire)} "
          f"pass={sum('xn--' in e.get('host', '') for e in passes)}")

    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for err in errors:
            print("  " + err, file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
