#!/usr/bin/env python3
"""Real mail servers for the test suite, on loopback, until killed.

- aiosmtpd SMTP servers: plain (development), STARTTLS with AUTH, implicit TLS with AUTH LOGIN
  only, and STARTTLS with a certificate for the wrong host. Certificates come from a test CA
  made here with openssl; its PEM is what the tests pass as SMTP_CA_FILE.
  Recipients steer the servers: reject*@ gets 550 at RCPT, tempfail*@ gets 451 at RCPT the
  first time, drop*@ has its first message stored and the connection dropped before the reply.
- moto in server mode for Amazon SES (the real SigV4-signed HTTP API), with example.test
  verified as a sending domain in every region.
- A small HTTP API for the tests: GET /smtp?to=ADDR and /ses?to=ADDR give every message
  received for ADDR, parsed with Python's email package (a real MIME parser); /smtp-sessions
  counts the SMTP sessions that carried mail; /ecs-credentials plays the ECS container
  credentials endpoint (requires Authorization: test-ecs-token; ?ttl=SECONDS).

Writes the ports and paths as JSON to the file named by its only argument once all listen.
"""
import asyncio
import datetime
import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USERNAME = "mailer"
PASSWORD = "s3cret-Passw0rd"
ECS_TOKEN = "test-ecs-token"

lock = threading.Lock()
received = []  # parsed SMTP messages
sessions = {}  # server name -> set of session ids that carried mail
auth_used = {}  # id(session) -> mechanism
ecs_fetches = [0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificates(folder):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca_pem = f"{folder}/ca.key", f"{folder}/ca.pem"
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key,
        "-out", ca_pem, "-days", "2", "-subj", "/CN=Registration Service Test CA")
    for name, dns in [("localhost", "localhost"), ("wronghost", "wrong.example")]:
        key, csr, pem, ext = (f"{folder}/{name}.{x}" for x in ("key", "csr", "pem", "ext"))
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{dns}\nextendedKeyUsage=serverAuth\n")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
            "-subj", f"/CN={dns}")
        run("x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial", "-out", pem,
            "-days", "2", "-extfile", ext)
    return ca_pem


def server_context(folder, name):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(f"{folder}/{name}.pem", f"{folder}/{name}.key")
    return context


def parse(raw, envelope_from, envelope_to):
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding"),
            "content": part.get_content(),
        })
    lines = raw.split(b"\r\n")
    return {
        "envelope_from": envelope_from,
        "envelope_to": envelope_to,
        "headers": {k.lower(): str(v) for k, v in message.items()},
        "raw_headers": raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace"),
        "content_type": message.get_content_type(),
        "parts": parts,
        "defects": [type(d).__name__ for d in message.defects],
        "max_line_length": max(len(line) for line in lines),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
        "seven_bit": all(b < 128 for b in raw),
    }


class Handler:
    def __init__(self, name):
        self.name = name
        self.tempfailed = set()
        self.dropped = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 Recipient address rejected"
        if local.startswith("tempfail") and address not in self.tempfailed:
            self.tempfailed.add(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record = parse(envelope.original_content, envelope.mail_from, list(envelope.rcpt_tos))
        record["server"] = self.name
        record["tls"] = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        record["auth_mechanism"] = auth_used.get(id(session))
        record["session"] = f"{self.name}-{id(session)}"
        with lock:
            received.append(record)
            sessions.setdefault(self.name, set()).add(id(session))
        drop = [r for r in envelope.rcpt_tos if r.split("@")[0].lower().startswith("drop") and r not in self.dropped]
        if drop:
            self.dropped.update(drop)
            server.transport.abort()
            return "250 OK"
        return "250 2.0.0 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USERNAME.encode() and auth_data.password == PASSWORD.encode()
    if ok:
        auth_used[id(session)] = mechanism
    return AuthResult(success=ok, handled=False)


def ses_messages(to):
    from moto.ses.models import ses_backends
    found = []
    for account in list(ses_backends.keys()):
        for region in list(ses_backends[account].keys()):
            for message in getattr(ses_backends[account][region], "sent_messages", []):
                raw = getattr(message, "raw_data", None)
                if raw is None:
                    continue
                destinations = list(getattr(message, "destinations", []))
                if any(to.lower() in d.lower() for d in destinations):
                    record = parse(raw.encode(), getattr(message, "source", None), destinations)
                    record["region"] = region
                    found.append(record)
    return found


class API(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        to = query.get("to", [""])[0].lower()
        if url.path == "/smtp":
            with lock:
                self.answer(200, [m for m in received if to in [r.lower() for r in m["envelope_to"]]])
        elif url.path == "/ses":
            self.answer(200, ses_messages(to))
        elif url.path == "/smtp-sessions":
            with lock:
                self.answer(200, {name: len(ids) for name, ids in sessions.items()})
        elif url.path == "/ecs-credentials":
            if self.headers.get("Authorization") != ECS_TOKEN:
                return self.answer(403, {"message": "bad token"})
            with lock:
                ecs_fetches[0] += 1
            ttl = int(query.get("ttl", ["3600"])[0])
            expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ttl)
            self.answer(200, {
                "AccessKeyId": f"ASIAECS{ecs_fetches[0]:05d}",
                "SecretAccessKey": "ecs-secret-key",
                "Token": f"ecs-session-token-{ecs_fetches[0]}",
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "RoleArn": "arn:aws:iam::123456789012:role/registration",
            })
        elif url.path == "/ecs-fetches":
            with lock:
                self.answer(200, {"fetches": ecs_fetches[0]})
        else:
            self.answer(404, {})


def main():
    folder = tempfile.mkdtemp(prefix="mail-test-servers-")
    ca_file = make_certificates(folder)
    ports = {name: free_port() for name in ("plain", "starttls", "tls", "wronghost", "api", "moto")}
    common = dict(hostname="127.0.0.1", ready_timeout=10)
    auth = dict(authenticator=authenticator, auth_required=True)
    controllers = [
        Controller(Handler("plain"), port=ports["plain"], **common),
        Controller(Handler("starttls"), port=ports["starttls"], tls_context=server_context(folder, "localhost"),
                   require_starttls=True, **auth, **common),
        Controller(Handler("tls"), port=ports["tls"], ssl_context=server_context(folder, "localhost"),
                   auth_exclude_mechanism=["PLAIN"], auth_require_tls=False, server_hostname="localhost", **auth,
                   **common),
        Controller(Handler("wronghost"), port=ports["wronghost"], tls_context=server_context(folder, "wronghost"),
                   require_starttls=True, **common),
    ]
    for controller in controllers:
        controller.start()

    from moto.server import ThreadedMotoServer
    from moto.ses.models import ses_backends
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=ports["moto"], verbose=False)
    moto.start()
    for region in ("us-east-1", "eu-west-1"):
        ses_backends["123456789012"][region].verify_domain("example.test")
    # moto loads a service's request handling on its first request, which takes seconds on a
    # busy machine: pay that now, not in the first test.
    import urllib.request
    for region in ("us-east-1", "eu-west-1"):
        warm_up = urllib.request.Request(
            f"http://127.0.0.1:{ports['moto']}/v2/email/outbound-emails", data=b"{}", method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{region}/ses/aws4_request, "
                                      "SignedHeaders=host, Signature=0"})
        try:
            urllib.request.urlopen(warm_up, timeout=60).read()
        except Exception:
            pass  # an error answer is fine: the handlers are loaded

    api = ThreadingHTTPServer(("127.0.0.1", ports["api"]), API)
    threading.Thread(target=api.serve_forever, daemon=True).start()

    info = {f"{name}_port": port for name, port in ports.items()}
    info.update(ca_file=ca_file, username=USERNAME, password=PASSWORD, ecs_token=ECS_TOKEN)
    with open(sys.argv[1] + ".tmp", "w") as f:
        json.dump(info, f)
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Event().wait()


if __name__ == "__main__":
    main()
