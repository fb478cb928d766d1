import Foundation

/// The 100,000 most common passwords (see docs/COMMON-PASSWORDS.md), as a set of lower-case
/// entries of at least 8 characters (shorter ones fail the length rule anyway).
final class CommonPasswords: Sendable {
    /// Loaded at first use, once per process.
    static let shared = CommonPasswords()

    private let entries: Set<String>

    private init() {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            // A build without its resource is broken; refuse to run with a weaker policy.
            fatalError("the common-password list is missing from the App module's resources")
        }
        entries = Set(text.split(separator: "\n").map(String.init))
    }

    var count: Int { entries.count }

    /// Whether `candidate` (already NFC-normalised and lower-cased) is on the list.
    func contains(_ candidate: String) -> Bool {
        entries.contains(candidate)
    }
}
