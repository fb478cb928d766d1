#!/usr/bin/env python3
"""The outbox phase of the benchmark: how fast one instance empties its outbox into a provider
that takes 200 ms per message (called by bench/run after bench.py, or alone with --outbox).

A local HTTP server plays SendGrid's v3 Mail Send API and answers every message after the
configured latency (threads, keep-alive). Emails are queued straight into email_outbox (as
registrations would have queued them), then one server instance starts and delivers them
through its real SendGrid transport. Measured per run: the drain time from the server being
ready to the last email marked sent, the delivery rate while it runs, and that every email
reached the provider exactly once. Runs: one at a time (OUTBOX_CONCURRENCY=1, the baseline),
the default (8), and 32 and 64 on a 10,000-email backlog; the targets are checked at 32.

Writes outbox.json and outbox.md into the output folder; exits 1 if a target is missed.
Only the standard library.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Server, free_port, log  # noqa: E402


class Provider(ThreadingHTTPServer):
    """SendGrid's Mail Send endpoint with a fixed latency; records each message's id."""

    daemon_threads = True

    def __init__(self, latency: float):
        self.latency = latency
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.times: list[float] = []
        super().__init__(("127.0.0.1", 0), ProviderHandler)

    def reset(self) -> None:
        with self.lock:
            self.ids, self.times = [], []


class ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(self.server.latency)
        message_id = json.loads(body).get("headers", {}).get("Message-ID", "")
        with self.server.lock:
            self.server.ids.append(message_id)
            self.server.times.append(time.monotonic())
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True).stdout.strip()


def queue(url: str, count: int) -> None:
    psql(url, "TRUNCATE email_outbox")
    psql(
        url,
        f"""INSERT INTO email_outbox (id, kind, recipient, subject, text_body, html_body, next_attempt_at, created_at)
            SELECT gen_random_uuid(), 'verification', 'user' || n || '@example.com', 'Confirm your email address',
                   'Welcome! Open https://accounts.example.test/v1/verify?token=' || md5(n::text),
                   '<p>Welcome! <a href="https://accounts.example.test/v1/verify?token=' || md5(n::text) || '">Confirm</a></p>',
                   now(), now()
            FROM generate_series(1, {count}) AS n""",
    )


def run(args, provider: Provider, concurrency: int, count: int) -> dict:
    queue(args.database_url, count)
    provider.reset()
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin", "APP_ENV": "development", "PORT": str(port), "METRICS_PORT": str(free_port()),
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": "info", "EMAIL_FROM": "no-reply@example.test", "EMAIL_TRANSPORT": "sendgrid",
        "SENDGRID_API_KEY": "SG.bench", "SENDGRID_ENDPOINT": f"http://127.0.0.1:{provider.server_address[1]}",
        "OUTBOX_CONCURRENCY": str(concurrency),
    }
    server = Server(args.server, port, env, Path(args.out) / f"outbox-server-{concurrency}-{count}.log")
    try:
        server.wait_ready()
        ready = time.monotonic()
        deadline = ready + args.timeout
        while time.monotonic() < deadline:
            if psql(args.database_url, "SELECT count(*) FROM email_outbox WHERE status = 'pending'") == "0":
                break
            time.sleep(0.05)
        drained = time.monotonic()
        sent = int(psql(args.database_url, "SELECT count(*) FROM email_outbox WHERE status = 'sent'"))
    finally:
        server.stop()
    with provider.lock:
        ids, times = list(provider.ids), sorted(provider.times)
    span = (times[-1] - times[0]) if len(times) > 1 else 0.0
    # Steady rate: messages answered after the first, over the time between first and last answer.
    rate = (len(times) - 1) / span if span > 0 else 0.0
    result = {
        "concurrency": concurrency, "queued": count, "sent": sent, "provider_requests": len(ids),
        "distinct_messages": len(set(ids)), "drain_s": round(drained - ready, 2), "rate_per_s": round(rate, 1),
    }
    log(f"outbox concurrency {concurrency}: {count} emails drained in {result['drain_s']} s, "
        f"{result['rate_per_s']}/s, {len(ids)} provider requests, {len(set(ids))} distinct")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", choices=["full", "smoke"], default="full")
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([args.server, "migrate"], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", "DATABASE_URL": args.database_url})
    provider = Provider(args.latency_ms / 1000)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    runs = [(1, 20), (8, 160), (32, 10_000), (64, 10_000)] if args.mode == "full" else [(1, 5), (8, 40)]
    results = [run(args, provider, concurrency, count) for concurrency, count in runs]
    provider.shutdown()

    baseline = results[0]["rate_per_s"]
    best = next((r for r in results if r["concurrency"] == 32), results[-1])
    checks = [(f"every email reached the provider exactly once ({r['queued']} at concurrency {r['concurrency']})",
               r["sent"] == r["queued"] == r["provider_requests"] == r["distinct_messages"]) for r in results]
    if args.mode == "full":
        checks.append((f"one instance delivers >= 100 emails/s at 200 ms per message (OUTBOX_CONCURRENCY=32: "
                       f"{best['rate_per_s']}/s)",
                       best["rate_per_s"] >= 100))
        checks.append((f">= 20x one-at-a-time sending ({best['rate_per_s']}/s vs {baseline}/s = "
                       f"{best['rate_per_s'] / baseline if baseline else 0:.1f}x)",
                       baseline > 0 and best["rate_per_s"] >= 20 * baseline))
    lines = [
        f"## Outbox delivery against a provider with {args.latency_ms:.0f} ms per message", "",
        "Emails queued in `email_outbox`, then one instance started with `EMAIL_TRANSPORT=sendgrid` pointed at a "
        "local stand-in that answers 202 after the latency (a thread per keep-alive connection). Drain time runs from "
        "`/health/ready` to the last email marked sent; the rate is measured between the provider's first and last "
        "answer.", "",
        "| OUTBOX_CONCURRENCY | emails | drain time | rate | provider requests | distinct messages |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['concurrency']} | {r['queued']:,} | {r['drain_s']} s | {r['rate_per_s']}/s | "
                     f"{r['provider_requests']:,} | {r['distinct_messages']:,} |")
    lines += ["", *[f"- {'holds' if ok else 'MISSED'}: {text}" for text, ok in checks], ""]
    (out / "outbox.md").write_text("\n".join(lines))
    (out / "outbox.json").write_text(json.dumps({"latency_ms": args.latency_ms, "runs": results,
                                                 "checks": [{"check": t, "holds": ok} for t, ok in checks]}, indent=2))
    for text, ok in checks:
        log(("holds: " if ok else "MISSED: ") + text)
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
