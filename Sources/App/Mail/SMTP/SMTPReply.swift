/// One SMTP reply: a three-digit code and its text lines (RFC 5321 §4.2).
struct SMTPReply: Sendable {
    let code: Int
    let lines: [String]

    /// The code and, when the server gave one, the enhanced status code (`550 5.1.1`): enough
    /// to diagnose, without the free text, which may quote an address.
    var summary: String {
        if let first = lines.first?.split(separator: " ").first,
            first.split(separator: ".").count == 3, first.allSatisfy({ $0.isNumber || $0 == "." })
        {
            return "\(code) \(first)"
        }
        return "\(code)"
    }
}
