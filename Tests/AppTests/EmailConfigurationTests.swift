import App
import Crypto
import Foundation
import Testing

@Suite("Email transport configuration")
struct EmailConfigurationTests {
    /// What a production deployment sets besides the transport.
    let production = [
        "APP_ENV": "production", "DATABASE_URL": "postgres://app:secret@db.internal/registration?sslmode=require",
        "JWT_PRIVATE_KEY": P256.Signing.PrivateKey().pemRepresentation, "TRUST_PROXY_TLS": "true",
        "PUBLIC_BASE_URL": "https://accounts.example.com",
    ]

    private func configuration(_ extra: [String: String]) throws -> AppConfiguration {
        try AppConfiguration(environment: production.merging(extra) { $1 })
    }

    @Test(
        "production refuses links over http, a database connection without sslmode=require unless DATABASE_TLS=disable, and BCRYPT_COST below 10"
    )
    func productionRefusesWeakSettings() throws {
        let sendgrid = ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.example"]
        #expect(try configuration(sendgrid).bcryptCost == 12)
        func refused(_ extra: [String: String]) -> String? {
            do {
                _ = try configuration(sendgrid.merging(extra) { $1 })
                return nil
            } catch {
                return (error as? ConfigurationError)?.variable
            }
        }
        #expect(refused(["PUBLIC_BASE_URL": "http://accounts.example.com"]) == "PUBLIC_BASE_URL")
        for url in ["postgres://app:secret@db.internal/registration", "postgres://app@db/registration?sslmode=prefer"] {
            #expect(refused(["DATABASE_URL": url]) == "DATABASE_URL", "\(url)")
        }
        #expect(refused(["DATABASE_URL": "postgres://app@db/registration?sslmode=verify-full"]) == nil)
        let optedOut = try configuration(
            sendgrid.merging(["DATABASE_URL": "postgres://app@localhost/registration", "DATABASE_TLS": "disable"]) {
                $1
            })
        #expect(optedOut.databaseTLSDisabled)
        #expect(refused(["DATABASE_TLS": "sometimes"]) == "DATABASE_TLS")
        #expect(refused(["BCRYPT_COST": "9"]) == "BCRYPT_COST")
        #expect(refused(["BCRYPT_COST": "10"]) == nil)
    }

    private func refusal(_ extra: [String: String]) -> ConfigurationError? {
        configurationError(production.merging(extra) { $1 })
    }

    @Test("production starts with SMTP over STARTTLS with credentials")
    func productionSMTP() throws {
        let configuration = try configuration([
            "EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.com", "SMTP_USERNAME": "apikey",
            "SMTP_PASSWORD": "secret", "SMTP_HELO_NAME": "accounts.example.com",
        ])
        guard case .smtp(let smtp) = configuration.emailTransport else {
            Issue.record("expected smtp, got \(configuration.emailTransport.name)")
            return
        }
        #expect(smtp.port == 587)
        #expect(smtp.security == .starttls)
        #expect(smtp.heloName == "accounts.example.com")
    }

    @Test("production starts with SES, from keys or from the task role's container endpoint")
    func productionSES() throws {
        let keys = try configuration([
            "EMAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "secret", "SES_CONFIGURATION_SET": "transactional",
        ])
        guard case .ses(let ses) = keys.emailTransport, case .fixed(let credentials) = ses.credentials else {
            Issue.record("expected ses with fixed credentials")
            return
        }
        #expect(credentials.accessKeyID == "AKIDEXAMPLE")
        #expect(ses.endpoint.absoluteString == "https://email.eu-west-1.amazonaws.com")
        #expect(ses.configurationSet == "transactional")

        let role = try configuration([
            "EMAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/3f1c",
        ])
        guard case .ses(let roleSES) = role.emailTransport, case .container(let url, _) = roleSES.credentials else {
            Issue.record("expected ses with container credentials")
            return
        }
        #expect(url.absoluteString == "http://169.254.170.2/v2/credentials/3f1c")
    }

    @Test("production starts with SendGrid, the API key inline or from a file")
    func productionSendGrid() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sendgrid-\(UUID().uuidString)")
        try "SG.file-key\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let configuration = try configuration(["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY_FILE": file.path])
        guard case .sendgrid(let sendgrid) = configuration.emailTransport else {
            Issue.record("expected sendgrid")
            return
        }
        #expect(sendgrid.apiKey == "SG.file-key")
        #expect(sendgrid.endpoint.absoluteString == "https://api.sendgrid.com")
    }

    @Test(
        "production refuses weak or incomplete email settings, naming the variable to fix",
        arguments: [
            (["EMAIL_TRANSPORT": "console"], "EMAIL_TRANSPORT"),
            (["EMAIL_TRANSPORT": "smtp"], "SMTP_HOST"),
            (
                [
                    "EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.com", "SMTP_SECURITY": "none",
                    "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p",
                ], "SMTP_SECURITY"
            ),
            (["EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.com"], "SMTP_USERNAME"),
            (["EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.com", "SMTP_USERNAME": "u"], "SMTP_PASSWORD"),
            (
                ["EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "10.0.0.5", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"],
                "SMTP_HOST"
            ),
            (["EMAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1"], "AWS_ACCESS_KEY_ID"),
            (["EMAIL_TRANSPORT": "ses", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"], "AWS_REGION"),
            (
                ["EMAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID"],
                "AWS_SECRET_ACCESS_KEY"
            ),
            (
                [
                    "EMAIL_TRANSPORT": "ses", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID",
                    "AWS_SECRET_ACCESS_KEY": "s", "SES_ENDPOINT": "http://ses.internal",
                ], "SES_ENDPOINT"
            ),
            (["EMAIL_TRANSPORT": "sendgrid"], "SENDGRID_API_KEY"),
            (
                ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.x", "SENDGRID_API_KEY_FILE": "/run/secrets/k"],
                "SENDGRID_API_KEY"
            ),
            (
                ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.x", "EMAIL_FROM_NAME": "Evil\r\nBcc: x@y.z"],
                "EMAIL_FROM_NAME"
            ),
            (
                ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.x", "EMAIL_REPLY_TO": "a@b.c\r\nBcc: x@y.z"],
                "EMAIL_REPLY_TO"
            ),
            (
                ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.x", "OUTBOX_CONCURRENCY": "0"],
                "OUTBOX_CONCURRENCY"
            ),
            (
                ["EMAIL_TRANSPORT": "sendgrid", "SENDGRID_API_KEY": "SG.x", "EMAIL_SEND_TIMEOUT_MS": "10"],
                "EMAIL_SEND_TIMEOUT_MS"
            ),
        ])
    func productionRefusals(extra: [String: String], variable: String) {
        #expect(refusal(extra)?.variable == variable)
    }

    @Test("development allows SMTP without TLS or credentials, for a local catcher such as aiosmtpd or MailHog")
    func developmentPlainSMTP() throws {
        let configuration = try AppConfiguration(environment: [
            "EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1025", "SMTP_SECURITY": "none",
        ])
        guard case .smtp(let smtp) = configuration.emailTransport else {
            Issue.record("expected smtp")
            return
        }
        #expect(smtp.security == .none)
        #expect(smtp.username == nil)
    }

    @Test("sender name, reply-to, concurrency and send timeout are read")
    func senderSettings() throws {
        let configuration = try AppConfiguration(environment: [
            "EMAIL_FROM_NAME": "Exämple Accounts", "EMAIL_REPLY_TO": "support@example.com",
            "OUTBOX_CONCURRENCY": "32", "EMAIL_SEND_TIMEOUT_MS": "2500",
        ])
        #expect(configuration.emailFromName == "Exämple Accounts")
        #expect(configuration.emailReplyTo?.value == "support@example.com")
        #expect(configuration.outbox.concurrency == 32)
        #expect(configuration.outbox.sendTimeout == .milliseconds(2500))
    }

    @Test("the outbox lease is short (renewed while a send is in flight) and OUTBOX_LEASE_MS sets it")
    func claimLease() throws {
        #expect(try AppConfiguration(environment: [:]).outbox.claimLease == .seconds(15))
        #expect(try AppConfiguration(environment: ["OUTBOX_LEASE_MS": "30000"]).outbox.claimLease == .seconds(30))
        #expect(throws: ConfigurationError.self) { try AppConfiguration(environment: ["OUTBOX_LEASE_MS": "500"]) }
    }
}
