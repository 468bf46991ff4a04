#!/usr/bin/env python3
# Usage: vigil serve --addr 127.0.0.1:3990 --data-dir /tmp/flood &  then  python3 bench/sign_in_flood.py 3990
# Sign-in flood vs health checks: 192 wrong-password sign-ins from one address, 16 at a time,
# while /healthz is asked every 10 ms; prints the sign-in statuses and healthz latencies.
import http.client, sys, threading, time, urllib.parse, statistics
port = int(sys.argv[1])
body = urllib.parse.urlencode({"username": "flood-target", "password": "wrong"})
statuses, lat = [], []
stop = False
def signin_worker(n):
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/auth/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        statuses.append(c.getresponse().status); c.close()
def health():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not stop:
        t = time.perf_counter(); c.request("GET", "/healthz"); r = c.getresponse(); r.read()
        lat.append((time.perf_counter() - t) * 1000); time.sleep(0.01)
h = threading.Thread(target=health); h.start()
ws = [threading.Thread(target=signin_worker, args=(12,)) for _ in range(16)]
t0 = time.perf_counter()
for w in ws: w.start()
for w in ws: w.join()
elapsed = time.perf_counter() - t0
stop = True; h.join()
lat.sort()
from collections import Counter
print(f"sign-ins: {dict(Counter(statuses))} in {elapsed:.2f} s; healthz n={len(lat)} p50={lat[len(lat)//2]:.1f} ms p99={lat[int(len(lat)*0.99)]:.1f} ms max={lat[-1]:.1f} ms")
