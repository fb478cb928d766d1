import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import App

/// The OTLP/HTTP receiver `scripts/test` starts (`scripts/otlp-test-collector.py`), which
/// decodes what exporters send with the specification's own protobuf definitions.
struct OTLPCollector: Sendable {
    let port: Int

    /// An attribute's value, as the collector writes it.
    enum Value: Decodable, Sendable, Hashable {
        case string(String), int(Int), double(Double), bool(Bool), other

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int.self) {
                self = .int(value)
            } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else {
                self = .other
            }
        }
    }

    struct Span: Decodable, Sendable {
        struct Link: Decodable, Sendable {
            let traceID: String
            let spanID: String
            enum CodingKeys: String, CodingKey { case traceID = "trace_id", spanID = "span_id" }
        }
        let traceID: String
        let spanID: String
        let parentSpanID: String
        let name: String
        let kind: Int
        let attributes: [String: Value]
        struct Status: Decodable, Sendable {
            let code: Int
        }
        let links: [Link]
        let resource: [String: Value]
        let startNanoseconds: UInt64
        let endNanoseconds: UInt64
        let status: Status

        enum CodingKeys: String, CodingKey {
            case traceID = "trace_id", spanID = "span_id", parentSpanID = "parent_span_id", name, kind, attributes
            case links, resource, startNanoseconds = "start_ns", endNanoseconds = "end_ns", status
        }
    }

    /// Read from the file `TEST_OTLP_COLLECTOR` names; tests fail (never skip) without it.
    static func running() throws -> OTLPCollector {
        guard let path = ProcessInfo.processInfo.environment["TEST_OTLP_COLLECTOR"],
            let data = FileManager.default.contents(atPath: path),
            let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let port = object["port"] as? Int
        else {
            Issue.record("TEST_OTLP_COLLECTOR is not set: run the tests with scripts/test, which starts the collector")
            throw TestSetupError()
        }
        return OTLPCollector(port: port)
    }

    var tracesURL: String { "http://127.0.0.1:\(port)/v1/traces" }

    /// Every span received from `service` (each test names its own).
    func spans(service: String) async throws -> [Span] {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/spans?service=\(service)"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        struct All: Decodable { let spans: [Span] }
        return try JSONDecoder().decode(All.self, from: Data(buffer: body)).spans.filter {
            $0.resource["service.name"] == .string(service)
        }
    }

    /// Waits (up to 20 s) until `service` has sent spans that satisfy `done`, and returns them.
    func spans(service: String, until done: ([Span]) -> Bool) async throws -> [Span] {
        for _ in 0..<200 {
            let spans = try await spans(service: service)
            if done(spans) { return spans }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await spans(service: service)
    }

    /// The raw JSON the collector holds for `service`, to search for what must never be there.
    func rawSpans(service: String) async throws -> String {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/spans?service=\(service)"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
        let mine = (object["spans"] as? [[String: Any]] ?? []).filter {
            ($0["resource"] as? [String: Any])?["service.name"] as? String == service
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: mine), as: UTF8.self)
    }
}
