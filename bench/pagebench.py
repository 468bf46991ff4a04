#!/usr/bin/env python3
"""Times every dashboard page and the read API as a signed-in viewer sees them, over HTTP.

    python3 bench/pagebench.py --vigil target/release/vigil --data-dir /work/pagebench/10m \
        --events 10000000 [--runs 10] [--port 3995] [--only REGEX]

Fills the data directory's embedded database with `vigil demo-data` (7 days ending now) if it
holds fewer events than asked, creates a viewer and a read key, starts `vigil serve`, signs in
and fetches each page (the whole server-rendered response, charts and top lists included; the
entity pages of a busy and a quiet user and two attacking addresses at every range) and
each read-API first and next page (and the session pivot of the newest login's session), and
the stream's `after=` catch-up of the newest 100 and 1,000 matches of a few filters, after
waiting for the machine to go quiet (start-up work done), one warm-up and then `--runs` timed
requests each (`--only REGEX` times only the pages and queries it finds); prints
p50/p95 in milliseconds (`vigil db status` gives the bytes per event). Only the standard library: it runs
with the machine's python3.
"""
import argparse, base64, http.client, json, os, re, socket, struct, subprocess, sys, time, urllib.parse

PAGES = ["/", "/mfa", "/api-keys", "/events?user=user42", "/events?ip=203.0.113.0/24",
         "/events?ip=2001:db8:bad::/48"]
RANGES = ["", "15m", "1h", "24h", "7d", "30d"]
# Entity pages: demo data's busiest user, a quiet one, an attacker (`ATTACKERS` in
# server/src/cli/demo_data/traffic.rs) and an IPv6 attacker; each at every range ("" is 7 days).
ENTITIES = ["/users/user00001", "/users/user49999", "/ips/203.0.113.7", "/ips/2001:db8:bad::17"]
API = ["", "type=auth.login.failure", "user=user42", "ip=203.0.113.0/24", "since=7d",
       "type=mfa&since=24h"]
# The stream's `after=` catch-up: from the 100th and the 1,000th newest match to the newest.
STREAM = ["", "type=auth.login.failure", "ip=2001:db8:bad::/48"]
CATCH_UP = [100, 1000]


def vigil(args, *rest, stdin=None):
    command = [args.vigil, "--data-dir", args.data_dir, *rest]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, check=True).stdout


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Client:
    def __init__(self, port):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {}

    def request(self, method, path, body=None, headers=None):
        all_headers = {**self.headers, **(headers or {})}
        self.connection.request(method, path, body, all_headers)
        response = self.connection.getresponse()
        data = response.read()
        return response, data

    def timed(self, path, runs):
        self.request("GET", path)  # warm-up
        times, size, status = [], 0, 0
        for _ in range(runs):
            started = time.perf_counter()
            response, data = self.request("GET", path)
            times.append((time.perf_counter() - started) * 1000)
            size, status = len(data), response.status
        return percentile(times, 0.5), percentile(times, 0.95), size, status


class Stream:
    """A WebSocket client of `/api/v1/stream`, just enough of RFC 6455 for server frames."""
    def __init__(self, port, path, headers):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=120)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.read_some()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            sys.exit(f"stream {path} refused: {head.splitlines()[0]!r}")

    def read_some(self):
        chunk = self.socket.recv(65536)
        if not chunk:
            sys.exit("the stream closed")
        return chunk

    def take(self, n):
        while len(self.buffer) < n:
            self.buffer += self.read_some()
        taken, self.buffer = self.buffer[:n], self.buffer[n:]
        return taken

    def message(self):
        """The next text message (server frames are never masked; pings are not answered)."""
        parts = []
        while True:
            first, second = self.take(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self.take(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self.take(8))[0]
            payload, opcode = self.take(length), first & 0x0F
            if opcode == 8:
                sys.exit("the stream closed")
            if opcode in (0, 1):
                parts.append(payload)
                if first & 0x80:
                    return json.loads(b"".join(parts))

    def close(self):
        self.socket.close()


def time_catch_up(port, query, after, last_seq, headers, runs):
    """Connects with `after=` and times the messages up to the event `last_seq`."""
    times = []
    path = f"/api/v1/stream?after={after}{'&' + query if query else ''}"
    for attempt in range(runs + 1):  # the first is a warm-up
        started = time.perf_counter()
        stream = Stream(port, path, headers)
        received = 0
        while True:
            message = stream.message()
            if message["kind"] == "event":
                received += 1
                if message["event"]["seq"] >= last_seq:
                    break
        stream.close()
        if attempt:
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 0.5), percentile(times, 0.95), received


def newest_seqs(reader, query, count):
    """The seqs of the newest `count` matches, newest first (the read API pages by 500)."""
    seqs, cursor = [], None
    while len(seqs) < count:
        path = f"/api/v1/events?limit={min(500, count - len(seqs))}{'&' + query if query else ''}"
        _, body = reader.request("GET", path + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
        page = json.loads(body)
        seqs += [e["seq"] for e in page["events"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return seqs


def wait_healthy(port, server):
    deadline = time.time() + 900  # a first start migrates (and backfills) the whole table
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"vigil serve exited with {server.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("vigil serve did not become healthy")


def busy_share(seconds=2.0):
    """The machine's CPU busy share over `seconds` (from /proc/stat)."""
    def sample():
        fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(deadline_seconds=900):
    """Waits until start-up work (migrations, the roll-up catching up, detection rules loading
    their history) is done: two seconds with the machine under 15% busy."""
    deadline = time.time() + deadline_seconds
    while time.time() < deadline and busy_share() > 0.15:
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vigil", default="target/release/vigil")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--port", type=int, default=3995)
    p.add_argument("--only", help="time only the pages and read-API queries this regex finds")
    args = p.parse_args()

    marker = os.path.join(args.data_dir, f"pagebench-filled-{args.events}")
    if not os.path.exists(marker):
        started = time.time()
        vigil(args, "demo-data", "--events", str(args.events), "--days", "7")
        print(f"filled {args.events} events in {time.time() - started:.0f} s", file=sys.stderr)
        vigil(args, "users", "create", "--username", "bench", "--role", "viewer", stdin="bench-password\n")
        key = vigil(args, "keys", "create", "--name", "bench-reader", "--read").strip()
        with open(marker, "w") as f:
            f.write(key)
    key = open(marker).read().strip()

    server = subprocess.Popen([args.vigil, "--data-dir", args.data_dir, "serve", "--addr",
                               f"127.0.0.1:{args.port}"], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(args.data_dir, "pagebench-serve.log"), "w"))
    try:
        wait_healthy(args.port, server)
        wait_quiet()
        run(args, key)
    finally:
        server.terminate()
        server.wait()


def run(args, key):
    origin = f"http://127.0.0.1:{args.port}"
    viewer = Client(args.port)
    form = urllib.parse.urlencode({"username": "bench", "password": "bench-password"})
    response, _ = viewer.request("POST", "/auth/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    if response.status != 303 or not cookie:
        sys.exit(f"sign-in failed: {response.status}")
    viewer.headers = {"Cookie": cookie}

    # A session of demo data's, for the session pivot: the newest login's.
    reader = Client(args.port)
    reader.headers = {"Authorization": f"Bearer {key}"}
    _, body = reader.request("GET", "/api/v1/events?limit=20&type=auth.login.success")
    sessions = [e["session_fingerprint"] for e in json.loads(body)["events"]
                if e.get("session_fingerprint")]
    session_pivot = [f"session_fp={sessions[0]}"] if sessions else []
    print(f"session pivot: {session_pivot or 'none found'}", file=sys.stderr)

    print(f"| page | p50 ms | p95 ms | bytes |\n|---|---:|---:|---:|")
    pages = [f"/failures{'?since=' + r if r else ''}" for r in RANGES]
    pages += [f"/events{'?since=' + r if r else ''}" for r in RANGES] + PAGES
    pages += [f"{entity}{'?since=' + r if r else ''}" for entity in ENTITIES for r in RANGES]
    pages += [f"/events?{q}" for q in session_pivot]
    for page in (p for p in pages if not args.only or re.search(args.only, p)):
        p50, p95, size, status = viewer.timed(page, args.runs)
        flag = "" if status == 200 else f" ({status})"
        print(f"| `{page}`{flag} | {p50:.1f} | {p95:.1f} | {size:,} |", flush=True)

    reader = Client(args.port)  # the first one's connection has idled out
    reader.headers = {"Authorization": f"Bearer {key}"}
    print(f"\n| read API | first p50 / p95 ms | next p50 / p95 ms |\n|---|---:|---:|")
    for query in (q for q in API + session_pivot if not args.only or re.search(args.only, q or "no filter")):
        path = f"/api/v1/events?limit=50{'&' + query if query else ''}"
        first50, first95, _, _ = reader.timed(path, args.runs)
        _, body = reader.request("GET", path)
        cursor = json.loads(body).get("next_cursor")
        nxt = "n/a"
        if cursor:
            n50, n95, _, _ = reader.timed(f"{path}&cursor={urllib.parse.quote(cursor)}", args.runs)
            nxt = f"{n50:.1f} / {n95:.1f}"
        print(f"| `{query or 'no filter'}` | {first50:.1f} / {first95:.1f} | {nxt} |", flush=True)

    print(f"\n| stream catch-up | events | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    for query in (q for q in STREAM if not args.only or re.search(args.only, q or "no filter")):
        for count in CATCH_UP:
            # The newest `count` matches, newest first: replay from just before the oldest.
            seqs = newest_seqs(reader, query, count)
            if not seqs:
                continue
            p50, p95, received = time_catch_up(args.port, query, seqs[-1] - 1, seqs[0],
                                               reader.headers, args.runs)
            print(f"| `after=…{'&' + query if query else ''}` | {received:,} | {p50:.1f} | {p95:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
