#!/usr/bin/env python3
"""An OTLP/HTTP trace receiver for the test suite and the benchmark, on loopback, until killed.

POST /v1/traces takes what an OpenTelemetry exporter sends (protobuf, `application/x-protobuf`,
optionally gzip-compressed; or OTLP JSON), decodes it with the `opentelemetry-proto` package (the
specification's own message definitions) and keeps every span. For the tests:

- GET /spans[?service=NAME]: every span received so far (of that service.name), as JSON (ids as lowercase hex, attributes as a flat
  object, links with their ids and attributes, the resource's attributes under `resource`);
- DELETE /spans: forget them;
- POST /mode?value=ok|slow|failing[&seconds=S]: answer normally, after S seconds, or 503.

With --count-only (the benchmark) it keeps no span, only counts: GET /spans then answers an
empty list with the number of export requests and of spans received.

Writes {"port": N} as JSON to the file named by its last argument once it listens.
"""
import gzip
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

lock = threading.Lock()
spans = []
state = {"mode": "ok", "seconds": 0.0, "requests": 0, "received": 0}
count_only = "--count-only" in sys.argv


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(key_values):
    return {kv.key: value_of(kv.value) for kv in key_values}


def flatten(request):
    out = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                out.append({
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent_span_id": span.parent_span_id.hex(),
                    "trace_state": span.trace_state,
                    "name": span.name,
                    "kind": span.kind,
                    "start_ns": span.start_time_unix_nano,
                    "end_ns": span.end_time_unix_nano,
                    "attributes": attributes(span.attributes),
                    "status": {"code": span.status.code, "message": span.status.message},
                    "events": [{"name": e.name, "attributes": attributes(e.attributes)} for e in span.events],
                    "links": [
                        {"trace_id": l.trace_id.hex(), "span_id": l.span_id.hex(), "attributes": attributes(l.attributes)}
                        for l in span.links
                    ],
                    "scope": scope_spans.scope.name,
                    "resource": resource,
                })
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        return data

    def do_POST(self):
        url = urlparse(self.path)
        if url.path == "/mode":
            query = parse_qs(url.query)
            with lock:
                state["mode"] = query.get("value", ["ok"])[0]
                state["seconds"] = float(query.get("seconds", ["0"])[0])
            return self.reply(204)
        if url.path != "/v1/traces":
            return self.reply(404)
        data = self.body()
        with lock:
            state["requests"] += 1
            mode, seconds = state["mode"], state["seconds"]
        if mode == "slow":
            time.sleep(seconds)
        if mode == "failing":
            return self.reply(503, b'{"error":"failing on purpose"}')
        request = ExportTraceServiceRequest()
        content_type = self.headers.get("Content-Type", "")
        try:
            if content_type.startswith("application/json"):
                json_format.Parse(data, request)
            else:
                request.ParseFromString(data)
        except Exception as error:  # noqa: BLE001 (any decoding failure is the sender's)
            return self.reply(400, json.dumps({"error": str(error)}).encode())
        if count_only:
            count = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
            with lock:
                state["received"] += count
        else:
            received = flatten(request)
            with lock:
                state["received"] += len(received)
                spans.extend(received)
        if content_type.startswith("application/json"):
            return self.reply(200, b"{}")
        return self.reply(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/spans":
            return self.reply(404)
        service = parse_qs(url.query).get("service", [None])[0]
        with lock:
            selected = [s for s in spans if service is None or s["resource"].get("service.name") == service]
            body = json.dumps({"spans": selected, "requests": state["requests"], "received": state["received"]}).encode()
        self.reply(200, body)

    def do_DELETE(self):
        if urlparse(self.path).path != "/spans":
            return self.reply(404)
        with lock:
            spans.clear()
            state["requests"] = 0
            state["received"] = 0
        self.reply(204)


def main():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    path = sys.argv[-1]
    with open(path + ".tmp", "w") as f:
        json.dump({"port": port}, f)
    import os

    os.replace(path + ".tmp", path)
    server.serve_forever()


if __name__ == "__main__":
    main()
