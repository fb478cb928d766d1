/// The database's recorded schema history does not match this build.
public struct MigrationError: Error, CustomStringConvertible {
    public let description: String

    static func edited(version: Int, name: String) -> MigrationError {
        MigrationError(
            description: "migration \(version) (\(name)) was changed after it was applied; add a new migration instead"
        )
    }

    static func unknown(version: Int) -> MigrationError {
        MigrationError(
            description: "the database has migration \(version), which this build does not know; run a newer build"
        )
    }
}
