import App
import Foundation
import Testing

/// The two storage implementations every contract and HTTP test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres
    case sqlite

    var testDescription: String { rawValue }

    /// A fresh, empty database of this kind for the duration of `body`.
    func withFreshDatabase<Result>(_ body: (DatabaseSettings) async throws -> Result) async throws -> Result {
        switch self {
        case .postgres:
            return try await TestDatabase.withFresh { try await body(.postgres($0)) }
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sqlite-test-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            return try await body(.sqlite(path: folder.appendingPathComponent("test.sqlite").path))
        }
    }
}
