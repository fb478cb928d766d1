import App
import ArgumentParser

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts from the command line.",
        subcommands: [GrantRole.self, DisableAccount.self, EnableAccount.self, DeleteAccount.self]
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

/// The account-level operator actions share their arguments and their run.
protocol OperatorCommand: AsyncParsableCommand {
    var email: String { get }
    static var action: OperatorAction { get }
    static var done: String { get }
}

extension OperatorCommand {
    func runAction() async throws {
        guard let address = EmailAddress(email) else {
            throw ArgumentParser.ValidationError("--email: not a valid email address")
        }
        let configuration = loadConfiguration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        let found: Bool
        do {
            found = try await administer(Self.action, email: address, configuration: configuration, logger: logger)
        } catch {
            fail(describeStartupFailure(error))
        }
        guard found else { fail("no account with the email address \(address)") }
        print("\(address): \(Self.done)")
    }
}

struct DisableAccount: OperatorCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable an account: it cannot log in or refresh, and its sessions end now.",
        discussion: "Access tokens already issued stay valid until they expire (ACCESS_TOKEN_TTL)."
    )
    static let action = OperatorAction.disable
    static let done = "disabled; every session ended"

    @Option(help: "The account's email address.")
    var email: String

    func run() async throws { try await runAction() }
}

struct EnableAccount: OperatorCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Enable a disabled account again.")
    static let action = OperatorAction.enable
    static let done = "enabled"

    @Option(help: "The account's email address.")
    var email: String

    func run() async throws { try await runAction() }
}

struct DeleteAccount: OperatorCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an account with its sessions and tokens; a tombstone without the address stays.",
        discussion: "A verified address is told by email. The address can register again."
    )
    static let action = OperatorAction.delete
    static let done = "deleted"

    @Option(help: "The account's email address.")
    var email: String

    @Flag(help: "Confirm the deletion; it cannot be undone.")
    var yes = false

    func validate() throws {
        guard yes else { throw ArgumentParser.ValidationError("deleting cannot be undone: add --yes to confirm") }
    }

    func run() async throws { try await runAction() }
}
