/// Prints each email to standard output, for development: the link is read from the terminal.
public struct ConsoleEmailTransport: EmailTransport {
    public var name: String { "console" }

    public init() {}

    public func send(_ message: EmailMessage) async throws {
        let text = """
            ----- email (console transport) -----
            From: \(message.from)
            To: \(message.to)
            Subject: \(message.subject)

            \(message.textBody)
            ----- end of email -----
            """
        // The same locked writer as the log lines, so an email never interleaves with a log line.
        StandardOutputLogSink().write(line: text)
    }
}
