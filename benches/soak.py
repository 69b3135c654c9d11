#!/usr/bin/env python3
"""Soak driver for `moderation serve` (Python 3 standard library only).

Run through benches/soak.sh, which starts the server and makes the keys.
Sends a bounded, mixed load for DURATION at RATE requests/s in total and,
every SAMPLE seconds, prints one Markdown table row and appends one CSV
row: requests and errors in the interval, p50/p99 per kind, the server's
RSS, open files, CPU, database connections and database size.

Mix (of the RATE operations per second):
  50% score   POST /v1/score
  25% submit  POST /v1/posts (a new post id each; 1 in 4 is a scam that is held, so queued)
  10% list    GET /v1/queue?limit=50 (1 in 4 with &category=scam)
   7% claim   POST /v1/queue/claim, then, when an item came back,
              decide: POST /v1/items/{id}/decision (approve 60%, remove 35%, escalate 5%)
   5% report  POST /v1/reports on a recently submitted post (trust level 0-4)
   3% item    GET /v1/items/{id} of a recently submitted post
plus rules: PUT /v1/rules?forum=FORUM (admin key) every RULES_EVERY seconds, a small
layer whose version and phrases change each time.

Latency is measured from the request being written to the answer being
read, per request, on the client: the machine's load is in it. When the
workers fall behind the schedule, operations are dropped and counted
(`dropped`), so the load stays bounded.

Environment: ADDR, FORUM, FORUM_KEY, MOD_KEY, ADMIN_KEY, METRICS_TOKEN,
SERVER_PID, DB_KIND (sqlite|postgres), DB_FILE (SQLite) or PG_ADMIN_URL and
PG_DB (PostgreSQL), DURATION (30m; s/m/h suffixes), RATE (200), SAMPLE (30),
RULES_EVERY (60), WORKERS (16), CSV (output path).
"""

import collections
import csv
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import threading
import time

KINDS = ["score", "submit", "list", "claim", "decide", "report", "item", "rules"]
MIX = [("score", 50), ("submit", 25), ("list", 10), ("claim", 7), ("report", 5), ("item", 3)]


def duration(text):
    text = text.strip()
    mult = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in mult:
        return float(text[:-1]) * mult[text[-1]]
    return float(text)


ENV = os.environ
ADDR = ENV.get("ADDR", "127.0.0.1:18182")
HOST, PORT = ADDR.rsplit(":", 1)
FORUM = ENV.get("FORUM", "soak")
FORUM_KEY = ENV["FORUM_KEY"]
MOD_KEY = ENV["MOD_KEY"]
ADMIN_KEY = ENV["ADMIN_KEY"]
METRICS_TOKEN = ENV.get("METRICS_TOKEN", "")
SERVER_PID = int(ENV["SERVER_PID"])
DB_KIND = ENV.get("DB_KIND", "sqlite")
DB_FILE = ENV.get("DB_FILE", "")
PG_ADMIN_URL = ENV.get("PG_ADMIN_URL", "")
PG_DB = ENV.get("PG_DB", "")
DURATION = duration(ENV.get("DURATION", "30m"))
RATE = float(ENV.get("RATE", "200"))
SAMPLE = duration(ENV.get("SAMPLE", "30"))
RULES_EVERY = duration(ENV.get("RULES_EVERY", "60"))
WORKERS = int(ENV.get("WORKERS", "16"))
CSV_PATH = ENV.get("CSV", "target/soak/soak.csv")
RUN = "%x" % int(time.time())

BENIGN = [
    "Hi all, my withdrawal has been pending for two days. I opened a ticket and support said the network is "
    "congested, see https://mempool.space for fees. 出金が二日間保留のままです。サポートに問い合わせましたが、"
    "まだ返事がありません。 Is there anything else I can do? The app shows 'processing' and the txid is not "
    "visible yet. Thanks in advance, and sorry for my English — 日本語でも大丈夫です。",
    "Does anyone know when the next listing vote starts? I would like to suggest a token, the docs at "
    "https://docs.example.org/listing say the form opens on Mondays. Thanks!",
    "The new fee schedule is live: maker fees went down to 0.08% for the first tier. Has anyone compared it "
    "with last month's? I can't find the old table any more.",
    "Quick question about 2FA: I changed phones and the authenticator app did not move the codes. Support asked "
    "for a selfie with my ID, is that normal here? It took a week last time.",
]
SCAM = [
    "DM me on Telegram if your withdrawal is stuck, I can help. Our support team answers within minutes, just "
    "message @helpdesk and share your account email so we can unlock it for you today.",
    "Official giveaway! Send 0.1 BTC to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq and get 0.2 BTC back "
    "within one hour. Only today, hurry, limited slots!!!",
]


class Stats:
    """Per-interval latencies and statuses, swapped out at each sample."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()
        self.total = collections.Counter()
        self.total_status = collections.Counter()
        self.all_lat = collections.defaultdict(list)

    def reset(self):
        self.lat = collections.defaultdict(list)
        self.status = collections.Counter()
        self.count = 0
        self.dropped = 0

    def record(self, kind, status, seconds):
        with self.lock:
            self.lat[kind].append(seconds)
            self.all_lat[kind].append(seconds)
            self.status[(kind, status)] += 1
            self.total[kind] += 1
            self.total_status[status] += 1
            self.count += 1

    def drop(self):
        with self.lock:
            self.dropped += 1

    def take(self):
        with self.lock:
            out = (self.lat, self.status, self.count, self.dropped)
            self.reset()
            return out


STATS = Stats()


class Recent:
    """Recently submitted posts (for reports and item reads), bounded."""

    def __init__(self, size=5000):
        self.lock = threading.Lock()
        self.items = collections.deque(maxlen=size)

    def add(self, post_id, item_id):
        with self.lock:
            self.items.append((post_id, item_id))

    def pick(self):
        with self.lock:
            return random.choice(self.items) if self.items else None


RECENT = Recent()
COUNTER = iter(range(1, 1 << 62))
COUNTER_LOCK = threading.Lock()


def next_n():
    with COUNTER_LOCK:
        return next(COUNTER)


class Client:
    def __init__(self):
        self.conn = None

    def request(self, kind, method, path, key, body=None, content_type="application/json"):
        """Sends one request; records its latency and status; returns (status, parsed JSON or None)."""
        headers = {"Authorization": "Bearer " + key}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
            start = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                # A keep-alive connection the server closed: retry once on a new one.
                if attempt == 0 and isinstance(e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    continue
                STATS.record(kind, "conn", time.perf_counter() - start)
                return None, None
            STATS.record(kind, str(resp.status), time.perf_counter() - start)
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            try:
                return resp.status, json.loads(raw) if raw else None
            except ValueError:
                return resp.status, None
        return None, None


def op_score(c):
    n = next_n()
    body = random.choice(SCAM) if n % 4 == 0 else random.choice(BENIGN)
    c.request("score", "POST", "/v1/score", FORUM_KEY, {"id": "score-%d" % n, "body": body})


def op_submit(c):
    n = next_n()
    post_id = "soak-%s-%d" % (RUN, n)
    scam = n % 4 == 0
    body = (random.choice(SCAM) if scam else random.choice(BENIGN)) + " #%d" % n
    age = 1 if scam else 30 + n % 900
    status, doc = c.request("submit", "POST", "/v1/posts", FORUM_KEY,
                            {"id": post_id, "body": body, "author": {"id": "u%d" % (n % 5000), "account_age_days": age}})
    if status in (200, 201) and isinstance(doc, dict):
        RECENT.add(post_id, doc.get("item_id"))


def op_list(c):
    extra = "&category=scam" if random.random() < 0.25 else ""
    c.request("list", "GET", "/v1/queue?limit=50" + extra, MOD_KEY)


def op_claim(c):
    status, doc = c.request("claim", "POST", "/v1/queue/claim", MOD_KEY, {"count": 1})
    if status != 200 or not isinstance(doc, dict) or not doc.get("items"):
        return
    item = doc["items"][0]
    r = random.random()
    action, reason = ("approve", "ok") if r < 0.60 else (("remove", "scam") if r < 0.95 else ("escalate", "unsure"))
    c.request("decide", "POST", "/v1/items/%d/decision" % item["id"], MOD_KEY,
              {"action": action, "reason": reason, "note": "soak", "expected_version": item["version"]})


def op_report(c):
    picked = RECENT.pick()
    if picked is None:
        return
    c.request("report", "POST", "/v1/reports", FORUM_KEY,
              {"post_id": picked[0], "reporter_id": "r%d" % random.randrange(100000),
               "trust_level": random.randrange(5), "reason": "spam"})


def op_item(c):
    picked = RECENT.pick()
    if picked is None or picked[1] is None:
        return
    c.request("item", "GET", "/v1/items/%d" % picked[1], MOD_KEY)


OPS = {"score": op_score, "submit": op_submit, "list": op_list, "claim": op_claim, "report": op_report, "item": op_item}


def rules_layer(i):
    return ("[ruleset]\nname = \"%s\"\nversion = \"%d\"\n\n"
            "[[rule]]\nid = \"spam.soak.r%d\"\ncategory = \"spam\"\nweight = 2.0\n"
            "description = \"soak rule, reload %d\"\n"
            "when = { phrases = [\"soak phrase %d\", \"cheap followers %d\"] }\n" % (FORUM, i, i % 2, i, i, i)).encode()


def worker(jobs, stop):
    c = Client()
    while not stop.is_set():
        try:
            kind = jobs.get(timeout=0.5)
        except queue.Empty:
            continue
        try:
            OPS[kind](c)
        except Exception as e:  # a bug in the driver must not end the soak silently
            print("driver error in %s: %r" % (kind, e), file=sys.stderr)


def dispatcher(jobs, stop, end):
    kinds = [k for k, w in MIX for _ in range(w)]
    tick = 0.01
    owed = 0.0
    t = time.monotonic()
    while not stop.is_set() and t < end:
        t += tick
        delay = t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        owed += RATE * tick
        while owed >= 1:
            owed -= 1
            try:
                jobs.put_nowait(random.choice(kinds))
            except queue.Full:
                STATS.drop()


def rules_loop(stop, end):
    c = Client()
    i = 0
    while not stop.wait(RULES_EVERY) and time.monotonic() < end:
        i += 1
        status, doc = c.request("rules", "PUT", "/v1/rules?forum=" + FORUM, ADMIN_KEY, rules_layer(i), "application/toml")
        if status != 200:
            print("rules reload %d: %s %s" % (i, status, doc), file=sys.stderr)


# ---- sampling ----

def proc_status():
    rss = hwm = threads = 0
    try:
        with open("/proc/%d/status" % SERVER_PID) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
    except OSError:
        return None
    return rss, hwm, threads


def proc_cpu_seconds():
    with open("/proc/%d/stat" % SERVER_PID) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_fds():
    """Open files, and how many of them are the SQLite database file (one per open connection)."""
    fd_dir = "/proc/%d/fd" % SERVER_PID
    names = os.listdir(fd_dir)
    db = 0
    for n in names:
        try:
            if DB_FILE and os.readlink(os.path.join(fd_dir, n)) == DB_FILE:
                db += 1
        except OSError:
            pass
    return len(names), db


def psql(sql):
    out = subprocess.run(["psql", "-qAtX", PG_ADMIN_URL, "-c", sql], capture_output=True, text=True, timeout=20)
    return out.stdout.strip()


def db_size_and_pool(fd_db):
    """(database bytes, pool text): SQLite counts the connections' open database files (in use is not
    visible); PostgreSQL reads pg_stat_activity (active = running a statement, of open)."""
    if DB_KIND == "postgres":
        size = int(psql("SELECT pg_database_size('%s')" % PG_DB) or 0)
        rows = psql("SELECT state, count(*) FROM pg_stat_activity WHERE datname = '%s' GROUP BY state" % PG_DB)
        states = dict(line.split("|") for line in rows.splitlines() if "|" in line)
        open_ = sum(int(v) for v in states.values())
        return size, "%s/%d" % (states.get("active", "0"), open_)
    size = sum(os.path.getsize(DB_FILE + s) for s in ("", "-wal", "-shm") if os.path.exists(DB_FILE + s))
    return size, "%d open" % fd_db


def scrape():
    """Gauges from /metrics: queue sizes and webhook backlog (the service exports no pool gauges)."""
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
    try:
        c.request("GET", "/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN})
        resp = c.getresponse()
        text = resp.read().decode()
        if resp.status != 200:
            return {}
    except (OSError, http.client.HTTPException):
        return {}
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("moderation_queue_items{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            out[status] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("moderation_webhook_backlog "):
            out["webhooks"] = float(line.rsplit(" ", 1)[1])
    return out


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ms(v):
    return "" if v is None else "%.1f" % (v * 1000)


def main():
    os.makedirs(os.path.dirname(CSV_PATH) or ".", exist_ok=True)
    header = ["elapsed_s", "requests", "req_per_s", "dropped", "status_2xx", "status_4xx", "status_5xx", "conn_errors",
              "errors"]
    for k in KINDS:
        header += [k + "_n", k + "_p50_ms", k + "_p99_ms"]
    header += ["all_p50_ms", "all_p99_ms", "rss_kib", "rss_peak_kib", "threads", "open_files", "cpu_pct", "pool",
               "pending", "escalated", "webhook_backlog", "db_bytes"]
    out = open(CSV_PATH, "w", newline="")
    w = csv.writer(out)
    w.writerow(header)

    print("| t | requests | req/s | 5xx | 4xx (kind:status) | p99 score | p99 submit | p99 list | p99 claim |"
          " p99 decide | p99 report | p99 rules | RSS MiB | open files | CPU % | pool | pending | DB MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    jobs = queue.Queue(maxsize=WORKERS * 4)
    stop = threading.Event()
    t0 = time.monotonic()
    end = t0 + DURATION
    threads = [threading.Thread(target=worker, args=(jobs, stop), daemon=True) for _ in range(WORKERS)]
    threads.append(threading.Thread(target=dispatcher, args=(jobs, stop, end), daemon=True))
    threads.append(threading.Thread(target=rules_loop, args=(stop, end), daemon=True))

    rss_series = []
    fives = 0
    last_cpu = proc_cpu_seconds()
    last_t = t0

    def sample(elapsed):
        nonlocal last_cpu, last_t, fives
        lat, status, count, dropped = STATS.take()
        now = time.monotonic()
        ps = proc_status()
        if ps is None:
            print("the server (pid %d) is gone" % SERVER_PID, file=sys.stderr)
            return False
        rss, hwm, nthreads = ps
        cpu = proc_cpu_seconds()
        interval = max(now - last_t, 1e-9)
        cpu_pct = 100 * (cpu - last_cpu) / interval if elapsed else 0.0
        last_cpu, last_t = cpu, now
        nfd, fd_db = proc_fds()
        size, pool = db_size_and_pool(fd_db)
        gauges = scrape()
        by_class = collections.Counter()
        errors = collections.Counter()
        for (kind, st), n in status.items():
            cls = "conn" if st == "conn" else st[0] + "xx"
            by_class[cls] += n
            if cls != "2xx":
                errors["%s:%s" % (kind, st)] += n
        fives += by_class["5xx"] + by_class["conn"]
        every = [v for vs in lat.values() for v in vs]
        rps = count / interval if elapsed else 0.0
        err_text = " ".join("%s=%d" % kv for kv in sorted(errors.items()))
        row = [int(elapsed), count, "%.1f" % rps, dropped, by_class["2xx"], by_class["4xx"], by_class["5xx"],
               by_class["conn"], err_text]
        for k in KINDS:
            row += [len(lat.get(k, [])), ms(pct(lat.get(k, []), 50)), ms(pct(lat.get(k, []), 99))]
        row += [ms(pct(every, 50)), ms(pct(every, 99)), rss, hwm, nthreads, nfd, "%.0f" % cpu_pct, pool,
                int(gauges.get("pending", 0)), int(gauges.get("escalated", 0)), int(gauges.get("webhooks", 0)), size]
        w.writerow(row)
        out.flush()
        rss_series.append((int(elapsed), rss))
        four = " ".join("%s=%d" % kv for kv in sorted(errors.items()) if kv[0].split(":")[1].startswith("4"))
        mm = "%d:%02d" % (int(elapsed) // 60, int(elapsed) % 60)
        print("| %s | %d | %.0f | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.1f | %d | %.0f | %s | %d | %.1f |" % (
            mm, count, rps, by_class["5xx"] + by_class["conn"], four or "0",
            ms(pct(lat.get("score", []), 99)), ms(pct(lat.get("submit", []), 99)), ms(pct(lat.get("list", []), 99)),
            ms(pct(lat.get("claim", []), 99)), ms(pct(lat.get("decide", []), 99)), ms(pct(lat.get("report", []), 99)),
            ms(pct(lat.get("rules", []), 99)), rss / 1024, nfd, cpu_pct, pool, int(gauges.get("pending", 0)),
            size / 1048576), flush=True)
        return True

    sample(0)
    for t in threads:
        t.start()
    alive = True
    k = 1
    while alive:
        target = t0 + k * SAMPLE
        if target > end + 0.5:
            target = end
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        alive = sample(time.monotonic() - t0)
        if target >= end:
            break
        k += 1
    stop.set()
    for t in threads:
        t.join(timeout=35)
    tail = STATS.take()
    fives += sum(n for (kind, st), n in tail[1].items() if st == "conn" or st.startswith("5"))
    out.close()

    print()
    print("total: %d requests in %.0f s; statuses %s" % (
        sum(STATS.total.values()), time.monotonic() - t0,
        " ".join("%s=%d" % kv for kv in sorted(STATS.total_status.items()))))
    print("| kind | requests | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for kind in KINDS:
        v = STATS.all_lat.get(kind, [])
        if v:
            print("| %s | %d | %s | %s | %s |" % (kind, len(v), ms(pct(v, 50)), ms(pct(v, 99)), ms(max(v))))
    if len(rss_series) >= 3:
        first = rss_series[1][1]
        last = rss_series[-1][1]
        half = rss_series[len(rss_series) // 2][1]
        print("RSS: %.1f MiB idle before the load, %.1f MiB at the first sample, %.1f MiB at half time, "
              "%.1f MiB at the end (%+.1f MiB over the second half)" % (
                  rss_series[0][1] / 1024, first / 1024, half / 1024, last / 1024, (last - half) / 1024))
    print("CSV: %s" % CSV_PATH)
    if fives or not alive:
        print("FAILED: %d 5xx answers or connection errors%s" % (fives, "" if alive else "; the server died"))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
