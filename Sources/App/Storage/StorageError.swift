/// The database returned something this build cannot interpret.
public struct StorageError: Error, CustomStringConvertible {
    public let description: String

    static func corruptRow(_ what: String) -> StorageError {
        StorageError(description: "unexpected database content: \(what)")
    }
}

/// Another account has the address (a unique-constraint violation, or found before writing).
public struct AddressTaken: Error {}
