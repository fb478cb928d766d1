import Crypto
import Foundation
import Logging
import Testing

@testable import App

/// The error reading `environment` stops with, or nil when it is accepted.
func configurationError(_ environment: [String: String]) -> ConfigurationError? {
    do {
        _ = try AppConfiguration(environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite("Configuration from the environment")
struct ConfigurationTests {
    let minimal = ["DATABASE_URL": "postgres://app:secret@db.internal:5433/registration"]

    private func error(_ environment: [String: String]) -> ConfigurationError? {
        configurationError(environment)
    }

    @Test("defaults apply when only DATABASE_URL is set")
    func defaults() throws {
        let configuration = try AppConfiguration(environment: minimal)
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8080)
        #expect(configuration.publicBaseURL == "http://localhost:8080")
        #expect(configuration.emailFrom.value == "no-reply@example.com")
        #expect(configuration.emailTransport.name == "console")
        #expect(configuration.bcryptCost == 12)
        #expect(configuration.verificationTokenTTL == .seconds(3600))
        #expect(configuration.logLevel == .info)
        #expect(configuration.environment == .development)
        guard case .postgres(let postgres) = configuration.database else {
            Issue.record("expected PostgreSQL, got \(configuration.database)")
            return
        }
        #expect(postgres.host == "db.internal")
        #expect(postgres.port == 5433)
        #expect(postgres.username == "app")
        #expect(postgres.password == "secret")
        #expect(postgres.database == "registration")
        #expect(postgres.tlsMode == .prefer)
    }

    @Test("every setting is read")
    func allSettings() throws {
        let configuration = try AppConfiguration(
            environment: minimal.merging([
                "HOST": "0.0.0.0", "PORT": "9000", "PUBLIC_BASE_URL": "https://accounts.example.com/",
                "EMAIL_FROM": "hello@example.com", "EMAIL_TRANSPORT": "console", "BCRYPT_COST": "10",
                "VERIFICATION_TOKEN_TTL": "600", "LOG_LEVEL": "debug", "DATABASE_MAX_CONNECTIONS": "4",
            ]) { $1 }
        )
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.publicBaseURL == "https://accounts.example.com")
        #expect(configuration.emailFrom.value == "hello@example.com")
        #expect(configuration.bcryptCost == 10)
        #expect(configuration.verificationTokenTTL == .seconds(600))
        #expect(configuration.logLevel == .debug)
        guard case .postgres(let postgres) = configuration.database else {
            Issue.record("expected PostgreSQL")
            return
        }
        #expect(postgres.maxConnections == 4)
    }

    @Test("housekeeping: interval and retentions, defaults, 0 switches the account purge off, ranges enforced")
    func housekeepingSettings() throws {
        let defaults = try AppConfiguration(environment: minimal).housekeeping
        #expect(defaults.interval == .seconds(600))
        #expect(defaults.outboxRetention == .seconds(7 * 86400))
        #expect(defaults.unverifiedAccountRetention == .seconds(7 * 86400))
        let set = try AppConfiguration(
            environment: minimal.merging([
                "HOUSEKEEPING_INTERVAL": "60", "OUTBOX_RETENTION": "86400", "UNVERIFIED_ACCOUNT_RETENTION": "0",
            ]) { $1 }
        ).housekeeping
        #expect(set.interval == .seconds(60))
        #expect(set.outboxRetention == .seconds(86400))
        #expect(set.unverifiedAccountRetention == .zero)
        #expect(error(minimal.merging(["HOUSEKEEPING_INTERVAL": "1"]) { $1 })?.variable == "HOUSEKEEPING_INTERVAL")
        #expect(error(minimal.merging(["OUTBOX_RETENTION": "60"]) { $1 })?.variable == "OUTBOX_RETENTION")
        #expect(
            error(minimal.merging(["UNVERIFIED_ACCOUNT_RETENTION": "-1"]) { $1 })?.variable
                == "UNVERIFIED_ACCOUNT_RETENTION")
    }

    @Test("with nothing set, the database is the default SQLite file under the working directory")
    func zeroConfiguration() throws {
        let configuration = try AppConfiguration(environment: [:], workingDirectory: "/srv/app")
        #expect(configuration.database == .sqlite(path: "/srv/app/data/registration.sqlite"))
        #expect(configuration.environment == .development)
        #expect(configuration.emailTransport.name == "console")
    }

    @Test("sqlite: URLs name a file, relative to the working directory or absolute")
    func sqliteURLs() throws {
        let cases = [
            ("sqlite:accounts.db", "/srv/app/accounts.db"),
            ("sqlite:./var/accounts.db", "/srv/app/var/accounts.db"),
            ("sqlite:/var/lib/registration/accounts.db", "/var/lib/registration/accounts.db"),
            ("sqlite:///var/lib/registration/accounts.db", "/var/lib/registration/accounts.db"),
        ]
        for (url, path) in cases {
            let configuration = try AppConfiguration(environment: ["DATABASE_URL": url], workingDirectory: "/srv/app")
            #expect(configuration.database == .sqlite(path: path), "\(url)")
        }
    }

    @Test("in production, DATABASE_URL must be explicit and the console transport is refused")
    func productionRules() throws {
        #expect(error(["APP_ENV": "production"])?.variable == "DATABASE_URL")
        #expect(
            error(["APP_ENV": "production", "DATABASE_URL": "sqlite:/var/lib/app.db"])?.variable == "EMAIL_TRANSPORT")
        #expect(
            error(minimal.merging(["APP_ENV": "production", "EMAIL_TRANSPORT": "console"]) { $1 })?.variable
                == "EMAIL_TRANSPORT")
        #expect(error(["APP_ENV": "staging"])?.variable == "APP_ENV")
    }

    @Test(
        "invalid values are errors naming their variable",
        arguments: [
            ("DATABASE_URL", "mysql://localhost/db"), ("DATABASE_URL", "postgres://localhost"),
            ("DATABASE_URL", "registration.sqlite"), ("DATABASE_URL", "sqlite:"), ("DATABASE_URL", "sqlite:/tmp/"),
            ("DATABASE_URL", "postgres://user@host/db?sslmode=sometimes"), ("DATABASE_URL", "postgres:///db"),
            ("PORT", "eighty"), ("PORT", "0"), ("PORT", "70000"), ("BCRYPT_COST", "3"), ("BCRYPT_COST", "32"),
            ("BCRYPT_COST", "twelve"), ("VERIFICATION_TOKEN_TTL", "-5"), ("VERIFICATION_TOKEN_TTL", "10"),
            ("LOG_LEVEL", "verbose"), ("EMAIL_TRANSPORT", "carrier-pigeon"), ("EMAIL_FROM", "not an address"),
            ("PUBLIC_BASE_URL", "accounts.example.com"), ("PUBLIC_BASE_URL", "ftp://example.com"),
            ("PUBLIC_BASE_URL", "https://example.com/?a=b"), ("DATABASE_MAX_CONNECTIONS", "0"),
            ("CORS_ALLOWED_ORIGINS", "*"), ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
            ("CORS_ALLOWED_ORIGINS", "app.example.com"), ("TRUSTED_PROXIES", "10.0.0.0/40"),
            ("TRUSTED_PROXIES", "proxy.local"),
            ("TRUST_PROXY_TLS", "maybe"),
            ("MAX_CONNECTIONS", "0"), ("IDLE_TIMEOUT", "0"), ("RATE_LIMIT_WINDOW", "0"),
            ("LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("VERIFY_CONFIRM_STEP", "sometimes"),
        ]
    )
    func invalidValue(variable: String, value: String) {
        let failure = error(minimal.merging([variable: value]) { $1 })
        #expect(failure?.variable == variable)
        #expect(failure?.description.hasPrefix("\(variable): ") == true)
    }

    @Test("TLS needs both files, and both readable")
    func tlsFiles() {
        #expect(error(minimal.merging(["TLS_CERT_FILE": "/nonexistent/cert.pem"]) { $1 })?.variable == "TLS_KEY_FILE")
        #expect(error(minimal.merging(["TLS_KEY_FILE": "/nonexistent/key.pem"]) { $1 })?.variable == "TLS_CERT_FILE")
        let both = ["TLS_CERT_FILE": "/nonexistent/cert.pem", "TLS_KEY_FILE": "/nonexistent/key.pem"]
        #expect(error(minimal.merging(both) { $1 })?.variable == "TLS_CERT_FILE")
    }

    @Test("DATABASE_USERNAME and DATABASE_PASSWORD replace the URL's credentials, for PostgreSQL only")
    func separateDatabaseCredentials() throws {
        let configuration = try AppConfiguration(environment: [
            "DATABASE_URL": "postgres://registration@db.internal/registration?sslmode=require",
            "DATABASE_USERNAME": "registration_b", "DATABASE_PASSWORD": "from-secrets-manager",
        ])
        guard case .postgres(let postgres) = configuration.database else {
            Issue.record("expected PostgreSQL, got \(configuration.database)")
            return
        }
        #expect(postgres.username == "registration_b")
        #expect(postgres.password == "from-secrets-manager")
        #expect(postgres.host == "db.internal")
        let onlyPassword = try AppConfiguration(environment: minimal.merging(["DATABASE_PASSWORD": "other"]) { $1 })
        guard case .postgres(let replaced) = onlyPassword.database else {
            Issue.record("expected PostgreSQL")
            return
        }
        #expect(replaced.username == "app")
        #expect(replaced.password == "other")
        let sqlite = error(["DATABASE_URL": "sqlite:/tmp/x.sqlite", "DATABASE_PASSWORD": "secret"])
        #expect(sqlite?.variable == "DATABASE_PASSWORD")
        #expect(sqlite?.description.contains("secret") == false)
    }

    @Test("an error about DATABASE_URL never repeats the password")
    func passwordNotEchoed() {
        let failure = error(["DATABASE_URL": "postgres://app:hunter2@db.internal/registration?sslmode=bogus"])
        #expect(failure != nil)
        #expect(failure?.description.contains("hunter2") == false)
    }

    @Test("empty values count as unset")
    func emptyIsUnset() throws {
        let configuration = try AppConfiguration(environment: minimal.merging(["PORT": "", "LOG_LEVEL": " "]) { $1 })
        #expect(configuration.port == 8080)
        #expect(configuration.logLevel == .info)
    }
}

@Suite("Configuration of tokens and account emails")
struct AuthConfigurationTests {
    let minimal = ["DATABASE_URL": "sqlite:/tmp/config-test.sqlite"]

    private func error(_ environment: [String: String]) -> ConfigurationError? {
        configurationError(environment)
    }

    @Test(
        "defaults: no key in development, 15-minute access and 30-day refresh tokens, issuer and audience from PUBLIC_BASE_URL"
    )
    func defaults() throws {
        let configuration = try AppConfiguration(
            environment: minimal.merging(["PUBLIC_BASE_URL": "https://id.example.com"]) { $1 })
        #expect(configuration.auth.signingKey == nil)
        #expect(configuration.auth.accessTokenTTL == .seconds(900))
        #expect(configuration.auth.refreshTokenTTL == .seconds(30 * 24 * 3600))
        #expect(configuration.auth.issuer == "https://id.example.com")
        #expect(configuration.auth.audience == "https://id.example.com")
        #expect(configuration.accounts.emailCooldown == .seconds(60))
        #expect(configuration.accounts.passwordResetTokenTTL == .seconds(1800))
        #expect(configuration.accounts.passwordResetURL == nil)
    }

    @Test("the signing key is read from JWT_PRIVATE_KEY or from the file JWT_PRIVATE_KEY_FILE names")
    func signingKeySources() throws {
        let pem = P256.Signing.PrivateKey().pemRepresentation
        let inline = try AppConfiguration(environment: minimal.merging(["JWT_PRIVATE_KEY": pem]) { $1 })
        #expect(inline.auth.signingKey != nil)
        let flattened = pem.replacingOccurrences(of: "\n", with: "\\n")
        #expect(
            try AppConfiguration(environment: minimal.merging(["JWT_PRIVATE_KEY": flattened]) { $1 }).auth.signingKey
                != nil)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString).pem")
        try Data(pem.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let fromFile = try AppConfiguration(environment: minimal.merging(["JWT_PRIVATE_KEY_FILE": file.path]) { $1 })
        #expect(fromFile.auth.signingKey?.publicKey == inline.auth.signingKey?.publicKey)

        let previous =
            P256.Signing.PrivateKey().publicKey.pemRepresentation + "\n"
            + P256.Signing.PrivateKey().publicKey.pemRepresentation
        let rotated = try AppConfiguration(environment: minimal.merging(["JWT_PREVIOUS_PUBLIC_KEYS": previous]) { $1 })
        #expect(rotated.auth.previousPublicKeys.count == 2)
    }

    @Test(
        "bad token and account settings are errors naming their variable",
        arguments: [
            ("JWT_PRIVATE_KEY", "not a key"), ("JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
            ("JWT_PREVIOUS_PUBLIC_KEYS", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            ("ACCESS_TOKEN_TTL", "10"), ("REFRESH_TOKEN_TTL", "forever"), ("EMAIL_COOLDOWN", "-1"),
            ("PASSWORD_RESET_TOKEN_TTL", "60"), ("PASSWORD_RESET_URL", "/relative/path"),
        ]
    )
    func invalid(variable: String, value: String) {
        #expect(error(minimal.merging([variable: value]) { $1 })?.variable == variable)
    }

    @Test("production refuses to start without a signing key; development makes do")
    func productionNeedsKey() throws {
        // Read on its own: production also refuses the console transport, the only one so far.
        #expect(
            throws: ConfigurationError(
                variable: "JWT_PRIVATE_KEY",
                reason:
                    "is required when APP_ENV=production (or JWT_PRIVATE_KEY_FILE); tokens would not survive a restart")
        ) {
            try AuthSettings.read(
                EnvironmentReader(values: [:]), environment: .production, publicBaseURL: "https://id.example.com")
        }
        let development = try AuthSettings.read(
            EnvironmentReader(values: [:]),
            environment: .development,
            publicBaseURL: "https://id.example.com"
        )
        #expect(development.signingKey == nil)
    }

    @Test("a key given twice (inline and file) is an error")
    func keyGivenTwice() {
        let pem = P256.Signing.PrivateKey().pemRepresentation
        #expect(
            error(minimal.merging(["JWT_PRIVATE_KEY": pem, "JWT_PRIVATE_KEY_FILE": "/tmp/key.pem"]) { $1 })?.variable
                == "JWT_PRIVATE_KEY")
    }
}
