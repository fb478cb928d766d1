import Foundation
import NIOCore
import SQLiteNIO

/// How domain values are written to and read from SQLite columns.
extension SQLiteData {
    init(_ date: Date) { self = .float(date.timeIntervalSince1970) }
    init(_ date: Date?) { self = date.map { .float($0.timeIntervalSince1970) } ?? .null }
    init(_ id: UUID) { self = .text(id.uuidString.lowercased()) }
    init(_ id: UUID?) { self = id.map { .text($0.uuidString.lowercased()) } ?? .null }
    init(_ data: Data) { self = .blob(ByteBuffer(bytes: data)) }
    init(_ text: String?) { self = text.map { .text($0) } ?? .null }

    var date: Date? { double.map { Date(timeIntervalSince1970: $0) } }
    var uuid: UUID? { string.flatMap(UUID.init(uuidString:)) }
}

extension SQLiteRow {
    /// The column's value; throws when the column is missing (a bug in the query).
    func required(_ name: String) throws -> SQLiteData {
        guard let value = column(name) else { throw StorageError.corruptRow("missing column \(name)") }
        return value
    }

    func uuid(_ name: String) throws -> UUID {
        guard let value = try required(name).uuid else { throw StorageError.corruptRow("\(name) is not a UUID") }
        return value
    }

    func string(_ name: String) throws -> String {
        guard let value = try required(name).string else { throw StorageError.corruptRow("\(name) is not text") }
        return value
    }

    func date(_ name: String) throws -> Date {
        guard let value = try required(name).date else { throw StorageError.corruptRow("\(name) is not a time") }
        return value
    }

    func int(_ name: String) throws -> Int {
        guard let value = try required(name).integer else { throw StorageError.corruptRow("\(name) is not a number") }
        return Int(value)
    }
}
