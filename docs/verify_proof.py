#!/usr/bin/env python3
"""Checks one Vigil event against a signed checkpoint, trusting nothing the server says.

    curl -H "Authorization: Bearer $READ_KEY" "$VIGIL/api/v1/chain/proof?seq=1842" > proof.json
    python3 docs/verify_proof.py proof.json --public-key KEY [--seq 1842 --hash HASH]

KEY is what `vigil chain public-key` printed (give it to auditors once); --seq/--hash are the
producer's receipt. It recomputes every link from the proof's previous hash through the
checkpoint (README, "Tamper evidence", defines the canonical bytes), checks the receipt's link
on the way, and verifies the checkpoint's Ed25519 signature (RFC 8032, in pure Python below, so
the script needs nothing but the standard library). Exit 0: the event is part of the signed
chain, exactly as stored; exit 1 otherwise, saying why.
"""

import argparse
import hashlib
import json
import sys
from datetime import datetime, timezone

FIELDS = (
    "seq id event_type category action action_result severity user_id username ip_address "
    "user_agent session_fingerprint mfa_used reason error_message token_type expires_at "
    "client_id scope forced api_key_id api_key_name event_data occurred_at received_at source"
).split()
TIMES = {"expires_at", "occurred_at", "received_at"}


def canonical_time(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(event):
    values = []
    for name in FIELDS:
        value = event.get(name)
        values.append(canonical_time(value) if name in TIMES and value is not None else value)
    # A time the server did not believe (too far ahead) is appended only when there is one.
    if event.get("occurred_at_claimed") is not None:
        values.append(canonical_time(event["occurred_at_claimed"]))
    # Compact, keys sorted (by code point, which is UTF-8 byte order), minimal escapes.
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return text.encode("utf-8")


# Ed25519 verification (RFC 8032, section 5.1.7), cofactorless, on extended coordinates.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _recover_x(y, sign):
    xx = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(xx, (P + 3) // 8, P)
    if (x * x - xx) % P:
        x = x * SQRT_M1 % P
    if (x * x - xx) % P or (x == 0 and sign):
        raise ValueError("not a curve point")
    return P - x if x & 1 != sign else x


def _decode(data):
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= P:
        raise ValueError("not a curve point")
    x = _recover_x(y, sign)
    return (x, y, 1, x * y % P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    k1, k2 = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    k3, k4 = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    e, f, g, h = k2 - k1, k4 - k3, k4 + k3, k2 + k1
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(scalar, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point, scalar = _add(point, point), scalar >> 1
    return result


def _encode(point):
    x, y, z, _ = point
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_BY = 4 * pow(5, P - 2, P) % P
BASE = (_recover_x(_BY, 0), _BY, 1, _recover_x(_BY, 0) * _BY % P)


def ed25519_verify(public_key, message, signature):
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        a, r = _decode(public_key), _decode(signature[:32])
    except ValueError:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little")
    return _encode(_mul(s, BASE)) == _encode(_add(r, _mul(k % L, a)))


def check(proof, public_key, receipt_seq=None, receipt_hash=None):
    """The reasons the proof fails; empty when it holds."""
    checkpoint = proof["checkpoint"]
    message = (
        f"vigil-checkpoint-v1\nseq {checkpoint['seq']}\nhash {checkpoint['hash']}\n"
        f"signed_at {checkpoint['signed_at']}\n"
    ).encode()
    if not ed25519_verify(
        bytes.fromhex(public_key), message, bytes.fromhex(checkpoint["signature"])
    ):
        return ["the checkpoint's signature does not verify with this public key"]
    link, seq = bytes.fromhex(proof["previous_hash"]), proof["previous_seq"]
    seen_receipt = receipt_seq is None
    for event in proof["events"]:
        if event["seq"] != seq + 1:
            return [f"seq {seq + 1} is missing from the proof"]
        seq = event["seq"]
        link = hashlib.sha256(link + canonical_bytes(event)).digest()
        if seq == receipt_seq:
            seen_receipt = True
            if receipt_hash is not None and link.hex() != receipt_hash:
                return [f"seq {seq} chains to {link.hex()}, not the receipt's {receipt_hash}"]
    if not seen_receipt:
        return [f"seq {receipt_seq} is not in the proof"]
    if seq != checkpoint["seq"] or link.hex() != checkpoint["hash"]:
        return [f"the events chain to {link.hex()} at seq {seq}, not the checkpoint's hash"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("proof", help="the JSON of GET /api/v1/chain/proof?seq=N")
    parser.add_argument("--public-key", required=True, help="vigil chain public-key's output")
    parser.add_argument("--seq", type=int, help="the receipt's seq")
    parser.add_argument("--hash", help="the receipt's hash")
    args = parser.parse_args()
    with open(args.proof, encoding="utf-8") as file:
        proof = json.load(file)
    problems = check(proof, args.public_key.strip(), args.seq, args.hash)
    if problems:
        print("NOT PROVEN: " + "; ".join(problems))
        return 1
    checkpoint = proof["checkpoint"]
    print(
        f"proven: seq {proof['previous_seq'] + 1} through {checkpoint['seq']} chain to the "
        f"checkpoint signed at {checkpoint['signed_at']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
