import Foundation
import Logging

/// Renders each log event as one JSON object per line.
///
/// Fields, in order: `timestamp` (RFC 3339, UTC, milliseconds), `level`, `message`, `logger`,
/// then the metadata (`event`, `request_id` and the event's own fields), keys sorted.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: any LogSink

    public init(label: String, level: Logger.Level = .info, sink: any LogSink = StandardOutputLogSink()) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        var line = "{\"timestamp\":"
        Self.appendString(Self.timestamp(Date()), to: &line)
        line += ",\"level\":"
        Self.appendString(event.level.rawValue, to: &line)
        line += ",\"message\":"
        Self.appendString(event.message.description, to: &line)
        line += ",\"logger\":"
        Self.appendString(label, to: &line)
        for key in merged.keys.sorted() {
            line += ","
            Self.appendString(key, to: &line)
            line += ":"
            Self.appendValue(merged[key]!, to: &line)
        }
        line += "}"
        sink.write(line: line)
    }

    static func appendValue(_ value: Logger.MetadataValue, to line: inout String) {
        switch value {
        case .string(let string):
            appendString(string, to: &line)
        case .stringConvertible(let convertible):
            appendString(convertible.description, to: &line)
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                appendValue(dictionary[key]!, to: &line)
            }
            line += "}"
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendString(_ string: String, to line: inout String) {
        line += "\""
        // Most values need no escaping: append them whole. (0xE2 starts U+2028 and U+2029.)
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F || $0 == 0xE2 }) {
            line += string
            line += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-29T10:05:03.123Z` (what
    /// `Date.ISO8601FormatStyle` with fractional seconds writes, at a fraction of its cost: it
    /// runs for every log line).
    static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let fraction = Int((milliseconds % 1000 + 1000) % 1000)  // also before 1970
        var seconds = time_t((milliseconds - Int64(fraction)) / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(24)
        func append(_ value: Int, width: Int) {
            let digits = String(value)
            if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
            text += digits
        }
        append(Int(parts.tm_year) + 1900, width: 4)
        text += "-"
        append(Int(parts.tm_mon) + 1, width: 2)
        text += "-"
        append(Int(parts.tm_mday), width: 2)
        text += "T"
        append(Int(parts.tm_hour), width: 2)
        text += ":"
        append(Int(parts.tm_min), width: 2)
        text += ":"
        append(Int(parts.tm_sec), width: 2)
        text += "."
        append(fraction, width: 3)
        text += "Z"
        return text
    }
}
