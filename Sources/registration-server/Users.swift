import App
import ArgumentParser

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts from the command line.",
        subcommands: [GrantRole.self]
    )
}

struct GrantRole: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant-role",
        abstract: "Give an account a role (admin, or user to take admin away)."
    )

    @Option(help: "The account's email address.")
    var email: String

    @Option(help: "The role: admin or user.")
    var role: String

    func run() async throws {
        guard let address = EmailAddress(email) else {
            throw ArgumentParser.ValidationError("--email: not a valid email address")
        }
        guard let role = Role(rawValue: role.lowercased()) else {
            throw ArgumentParser.ValidationError(
                "--role: must be one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let configuration = loadConfiguration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        let granted: Bool
        do {
            granted = try await grantRole(role, to: address, configuration: configuration, logger: logger)
        } catch {
            fail(describeStartupFailure(error))
        }
        guard granted else { fail("no account with the email address \(address)") }
        print("\(address) now has the role \(role.rawValue)")
    }
}
