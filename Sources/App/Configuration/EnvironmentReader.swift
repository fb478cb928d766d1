import Foundation

/// Typed access to a snapshot of environment variables.
///
/// Empty values count as unset, so `FOO=` in a deployment file falls back to the default
/// instead of failing on an empty string.
struct EnvironmentReader {
    let values: [String: String]

    func string(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
            return nil
        }
        return value
    }

    func string(_ name: String, default defaultValue: String) -> String {
        string(name) ?? defaultValue
    }

    func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let raw = string(name) else { return defaultValue }
        guard let value = Int(raw) else {
            throw ConfigurationError(variable: name, reason: "must be a whole number, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(
                variable: name,
                reason: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)"
            )
        }
        return value
    }

    func oneOf<Value>(
        _ name: String, default defaultValue: Value, choices: [String: Value]
    ) throws(ConfigurationError) -> Value {
        guard let raw = string(name) else { return defaultValue }
        guard let value = choices[raw.lowercased()] else {
            let allowed = choices.keys.sorted().joined(separator: ", ")
            throw ConfigurationError(variable: name, reason: "must be one of \(allowed), got \"\(raw)\"")
        }
        return value
    }

    /// A secret given inline in `name` or as the path of a file in `name_FILE` (the way secrets
    /// managers mount them), not both; a file's trailing line break is dropped.
    func secret(_ name: String) throws(ConfigurationError) -> String? {
        let inline = values[name].flatMap { $0.isEmpty ? nil : $0 }
        switch (inline, string(name + "_FILE")) {
        case (let value?, nil):
            return value
        case (nil, let path?):
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(variable: name + "_FILE", reason: "cannot read \(path)")
            }
            var text = String(decoding: contents, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text.isEmpty ? nil : text
        case (_?, _?):
            throw ConfigurationError(variable: name, reason: "set either \(name) or \(name)_FILE, not both")
        case (nil, nil):
            return nil
        }
    }
}
