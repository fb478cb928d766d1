#!/usr/bin/env python3
"""Driver of scripts/fault-test: instances, HAProxy, load, faults, checks. Standard library only."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

PASSWORD = "fjord-quartz-velvet-4711"
MAX_ATTEMPTS = 30


def log(message: str) -> None:
    print(f"[fault {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 2.0) -> int:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("GET", path)
        status = connection.getresponse().status
        connection.close()
        return status
    except OSError:
        return 0


class Instance:
    def __init__(self, index: int, args, folder: Path):
        self.index = index
        self.port = free_port()
        self.metrics_port = free_port()
        self.args = args
        self.log_path = folder / f"instance-{index}.log"
        self.process: subprocess.Popen | None = None
        self.expected_exit = False
        self.crashes: list[int] = []

    def start(self) -> None:
        env = {
            "PATH": os.environ["PATH"], "PORT": str(self.port), "METRICS_PORT": str(self.metrics_port),
            "DATABASE_URL": self.args.database_url,
            "BCRYPT_COST": "4", "LOG_LEVEL": "info", "OUTBOX_POLL_INTERVAL_MS": "200", "EMAIL_COOLDOWN": "0",
            "SHUTDOWN_GRACE_SECONDS": "2", "DATABASE_TIMEOUT_MS": "3000", "DATABASE_STATEMENT_TIMEOUT_MS": "2500",
            "RATE_LIMIT_REGISTER_PER_IP": "1000000", "RATE_LIMIT_REGISTER_PER_EMAIL": "1000000",
            "SWIFT_BACKTRACE": "enable=yes,symbolicate=off,threads=crashed",
        }
        handle = self.log_path.open("ab")
        self.expected_exit = False
        self.process = subprocess.Popen([self.args.server, "serve"], env=env, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and get(self.port, "/health/ready") != 200:
            time.sleep(0.05)

    def check_alive(self) -> None:
        if self.process and self.process.poll() is not None and not self.expected_exit:
            self.crashes.append(self.process.returncode)
            log(f"instance {self.index} exited unexpectedly with {self.process.returncode}; restarting it")
            self.start()

    def signal(self, sig: int) -> int:
        self.expected_exit = True
        self.process.send_signal(sig)
        return self.process.wait(timeout=60)


class Load(threading.Thread):
    """Registrations through the load balancer, one keep-alive connection per thread."""

    def __init__(self, port: int, worker: int, results: list, lock: threading.Lock):
        super().__init__(daemon=True)
        self.port, self.worker, self.results, self.lock = port, worker, results, lock
        self.running = True
        self.phase = "warm-up"

    def run(self) -> None:
        self.connection = None
        counter = 0
        while self.running:
            counter += 1
            email = f"f{self.worker}-{counter}-{time.monotonic_ns()}@example.com"
            key = str(uuid.uuid4())
            # A client that gets no answer or a 5xx retries with the same Idempotency-Key, as
            # the README advises: the retry must neither lose nor duplicate the registration.
            for attempt in range(1, MAX_ATTEMPTS + 1):
                record = self.register(email, key, attempt)
                with self.lock:
                    self.results.append(record)
                if record["status"] != 0 and record["status"] < 500:
                    break
                time.sleep(float(record.get("retry_after") or 0.5))
            time.sleep(0.01)

    def register(self, email: str, key: str, attempt: int) -> dict:
        body = json.dumps({"email": email, "password": PASSWORD})
        started = time.monotonic()
        record = {"email": email, "phase": self.phase, "at": started, "attempt": attempt}
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.connection.request("POST", "/v1/register", body,
                                    {"Content-Type": "application/json", "Idempotency-Key": key})
            response = self.connection.getresponse()
            payload = response.read()
            record.update(status=response.status, retry_after=response.getheader("Retry-After"),
                          replayed=response.getheader("Idempotent-Replayed") == "true",
                          problem=response.getheader("Content-Type", "").startswith("application/problem+json"),
                          code=(re.search(rb'"code":"([a-z_]+)"', payload) or [None, b""])[1].decode())
            if (response.getheader("Connection") or "").lower() == "close":
                self.connection.close()
                self.connection = None
        except (OSError, http.client.HTTPException) as error:
            record.update(status=0, error=type(error).__name__)
            if self.connection:
                self.connection.close()
            self.connection = None
        record["seconds"] = time.monotonic() - started
        return record


def haproxy_config(lb_port: int, instances: list[Instance]) -> str:
    servers = "\n".join(f"    server app{i.index} 127.0.0.1:{i.port} check" for i in instances)
    return f"""global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 20s
    retries 2
    option redispatch
    retry-on conn-failure empty-response
frontend web
    bind 127.0.0.1:{lb_port}
    default_backend app
backend app
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{servers}
"""


def postgres_pids(pg_dir: str) -> list[int]:
    master = int(Path(pg_dir, "data", "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [master] + [int(c) for c in children]


def psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, timeout=30).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("--server", "--database-url", "--pg-dir", "--pg-bindir"):
        parser.add_argument(name, required=True)
    parser.add_argument("--load-seconds", type=float, default=6)
    parser.add_argument("--freeze-seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fault-test-"))
    subprocess.run([args.server, "migrate"], check=True, capture_output=True,
                   env={"PATH": os.environ["PATH"], "DATABASE_URL": args.database_url})
    instances = [Instance(i, args, folder) for i in (1, 2, 3)]
    for instance in instances:
        instance.start()
    lb_port = free_port()
    (folder / "haproxy.cfg").write_text(haproxy_config(lb_port, instances))
    haproxy = subprocess.Popen(["haproxy", "-f", str(folder / "haproxy.cfg")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while get(lb_port, "/health/ready") != 200:
        time.sleep(0.1)
    log(f"3 instances behind HAProxy on {lb_port}; logs in {folder}")

    results: list = []
    lock = threading.Lock()
    loads = [Load(lb_port, w, results, lock) for w in range(args.workers)]
    for load in loads:
        load.start()
    run_as = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    windows: dict[str, tuple[float, float]] = {}

    def phase(name: str, fault) -> None:
        log(f"phase: {name}")
        for load in loads:
            load.phase = name
        start = time.monotonic()
        fault()
        end = time.monotonic()
        windows[name] = (start, end)
        deadline = time.monotonic() + args.load_seconds
        while time.monotonic() < deadline:
            for instance in instances:
                instance.check_alive()
            time.sleep(0.1)

    def kill_one():
        instances[0].signal(signal.SIGKILL)
        time.sleep(1)
        instances[0].start()

    def rolling():
        for instance in instances:
            code = instance.signal(signal.SIGTERM)
            if code != 0:
                instance.crashes.append(code)
            instance.start()

    def restart_postgres():
        # The restarted server inherits pg_ctl's output: a log file, not a pipe we would wait on.
        subprocess.run(run_as + [f"{args.pg_bindir}/pg_ctl", "-D", f"{args.pg_dir}/data", "-m", "fast", "-w",
                                 "-l", f"{args.pg_dir}/server.log", "restart"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def freeze_postgres():
        pids = postgres_pids(args.pg_dir)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(args.freeze_seconds)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    phase("steady", lambda: None)
    phase("SIGKILL one instance", kill_one)
    phase("rolling SIGTERM restart", rolling)
    phase("PostgreSQL restart", restart_postgres)
    phase(f"PostgreSQL frozen {args.freeze_seconds:.0f} s", freeze_postgres)
    for load in loads:
        load.running = False
    for load in loads:
        load.join(timeout=60)
    log("load stopped; waiting for the outbox to drain")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and psql(args.database_url,
                                               "SELECT count(*) FROM email_outbox WHERE status = 'pending'") != "0":
        for instance in instances:
            instance.check_alive()
        time.sleep(0.5)
    for instance in instances:
        instance.check_alive()
        code = instance.signal(signal.SIGTERM)
        if code != 0:
            instance.crashes.append(code)
    haproxy.terminate()

    accepted = {r["email"] for r in results if r.get("status") == 202}
    rows = psql(args.database_url, "SELECT email_normalized, count(*) FROM users GROUP BY 1").splitlines()
    accounts = {line.split("|")[0]: int(line.split("|")[1]) for line in rows if "|" in line}
    emails = Counter()
    for instance in instances:
        for match in re.finditer(r"^To: (\S+)$", instance.log_path.read_text(errors="replace"), re.M):
            emails[match.group(1).lower()] += 1
    lost_accounts = [e for e in accepted if accounts.get(e.lower(), 0) != 1]
    lost_emails = [e for e in accepted if emails[e.lower()] == 0]
    duplicates = sum(max(0, emails[e.lower()] - 1) for e in accepted)
    retried = {r["email"] for r in results if r["attempt"] > 1}
    retried_accepted = retried & accepted
    replayed = {r["email"] for r in results if r.get("replayed")}
    retry_duplicates = sum(max(0, emails[e.lower()] - 1) for e in retried_accepted)
    slowest_email = psql(args.database_url,
                         "SELECT coalesce(round(max(extract(epoch FROM sent_at - created_at))::numeric, 1), 0) "
                         "FROM email_outbox WHERE status = 'sent'")
    crashes = sum(len(i.crashes) for i in instances)
    crash_lines = sum(i.log_path.read_text(errors="replace").count("Program crashed") for i in instances)

    print()
    print("| phase | requests | 202 | service 503 (Retry-After) | LB 5xx | service 500 | no answer | slowest s | first 202 after fault s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    failures = []
    for name, (start, end) in windows.items():
        rs = [r for r in results if r["phase"] == name]
        statuses = Counter(r["status"] for r in rs)
        service_503 = [r for r in rs if r["status"] == 503 and r.get("problem")]
        with_retry = sum(1 for r in service_503 if r.get("retry_after"))
        lb_5xx = sum(1 for r in rs if r["status"] >= 500 and not r.get("problem"))
        service_500 = sum(1 for r in rs if r["status"] == 500 and r.get("problem"))
        no_answer = statuses.get(0, 0)
        after = [r["at"] + r["seconds"] for r in rs if r["status"] == 202 and r["at"] >= end]
        recovery = f"{min(after) - end:.2f}" if after else "none"
        slowest = max((r["seconds"] for r in rs), default=0)
        print(f"| {name} | {len(rs)} | {statuses.get(202, 0)} | {len(service_503)} ({with_retry}) | {lb_5xx} | "
              f"{service_500} | {no_answer} | {slowest:.2f} | {recovery} |")
        if service_500:
            failures.append(f"{name}: {service_500} answers 500")
        if no_answer:
            failures.append(f"{name}: {no_answer} requests without an answer")
        if with_retry != len(service_503):
            failures.append(f"{name}: a 503 without Retry-After")
        if not after:
            failures.append(f"{name}: no 202 after the fault")
    print()
    print(f"- 202 answers: {len(accepted)}; without exactly one account: {len(lost_accounts)}; "
          f"without an email: {len(lost_emails)}; duplicate emails: {duplicates}")
    print(f"- registrations retried with their Idempotency-Key after a 5xx or no answer: {len(retried)}; "
          f"accepted in the end: {len(retried_accepted)}; answered as a replay of a committed attempt: "
          f"{len(replayed)}; duplicate emails among them: {retry_duplicates}")
    print(f"- slowest email, queued to sent: {slowest_email} s")
    unanswered = Counter(f'{r["phase"]}: {r.get("error")} (attempt {r["attempt"]})' for r in results if r["status"] == 0)
    if unanswered:
        print(f"- requests without an answer, by phase and error: {dict(unanswered)}")
    print(f"- unexpected instance exits: {crashes}; crash reports in logs: {crash_lines}")
    if retried - accepted:
        failures.append(f"{len(retried - accepted)} registrations never accepted after {MAX_ATTEMPTS} attempts")
    if lost_accounts:
        failures.append(f"{len(lost_accounts)} accepted registrations without exactly one account")
    if lost_emails:
        failures.append(f"{len(lost_emails)} accepted registrations without an email")
    if crashes or crash_lines:
        failures.append(f"{crashes} unexpected exits, {crash_lines} crash reports")
    for failure in failures:
        log("FAILED: " + failure)
    log("passed" if not failures else f"{len(failures)} failures; logs in {folder}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
