import Foundation

/// Renders an `EmailMessage` as an RFC 5322 / MIME document: `multipart/alternative` with a
/// plain-text and an HTML part, 7-bit clean, CRLF line ends, no line longer than 78 octets.
///
/// Bodies are quoted-printable, so any Unicode text and any line length survive every relay;
/// non-ASCII header text becomes RFC 2047 encoded words. Header values are checked here
/// again (the templates and `EMAIL_FROM_NAME` were checked before): a control character in
/// one is a permanent failure, never a header of its own.
public enum MIMEMessage {
    public static func render(_ message: EmailMessage) throws(EmailDeliveryError) -> String {
        let recipient = try message.validatedRecipient()
        try message.validateHeaderValues()
        let boundary = "=_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        var headers: [String] = [
            "Date: \(rfc5322Date(message.date))",
            "From: \(mailbox(message.from, name: message.fromName))",
            "To: \(recipient.value)",
        ]
        if let replyTo = message.replyTo { headers.append("Reply-To: \(replyTo.value)") }
        headers += [
            "Message-ID: \(message.messageID)",
            header("Subject", message.subject),
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"",
        ]
        var lines = headers
        lines.append("")
        for (type, body) in [("text/plain", message.textBody), ("text/html", message.htmlBody)] {
            lines += [
                "--\(boundary)",
                "Content-Type: \(type); charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable",
                "",
                quotedPrintable(body),
            ]
        }
        lines.append("--\(boundary)--")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// `Name <address>`, the name quoted or encoded as needed; the bare address without one.
    static func mailbox(_ address: EmailAddress, name: String?) -> String {
        guard let name, !name.isEmpty else { return address.value }
        if name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\" <\(address.value)>"
        }
        return "\(encodedWords(name).joined(separator: " ")) <\(address.value)>"
    }

    /// `Name: value`, as encoded words when the value is not plain ASCII, folded so no line
    /// exceeds 78 octets.
    static func header(_ name: String, _ value: String) -> String {
        let words: [String]
        if value.unicodeScalars.allSatisfy({ $0.isASCII }) {
            words = value.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        } else {
            words = encodedWords(value)
        }
        var lines: [String] = []
        var line = "\(name):"
        for word in words {
            if line.utf8.count + 1 + word.utf8.count > 78 && line.utf8.count > name.utf8.count + 1 {
                lines.append(line)
                line = ""
            }
            line += " " + word
        }
        lines.append(line)
        return lines.joined(separator: "\r\n")
    }

    /// RFC 2047 `=?utf-8?B?…?=` words of at most 64 characters (so even the first fits on a
    /// header line of 78 after its name), never splitting a character.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
            // 39 bytes encode to 52 base64 characters; with `=?utf-8?B?` and `?=` that is 64.
            if chunk.count + bytes.count > 39 && !chunk.isEmpty {
                words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text with CRLF line breaks: lines of at most
    /// 76 characters, soft breaks as `=`, and `=`, non-ASCII, control characters and trailing
    /// white space encoded. A line's leading `.` is encoded too, so the body never needs
    /// SMTP dot-stuffing (the SMTP transport stuffs anyway).
    public static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        let lines = normalized.split(separator: "\n", omittingEmptySubsequences: false)
        for (lineIndex, line) in lines.enumerated() {
            if lineIndex > 0 { output += [13, 10] }
            let bytes = Array(line.utf8)
            var column = 0
            for (index, byte) in bytes.enumerated() {
                let isLast = index == bytes.count - 1
                let literal =
                    (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    && !(byte == UInt8(ascii: ".") && column == 0)
                let space = (byte == 32 || byte == 9) && !isLast
                let piece: [UInt8] =
                    literal || space ? [byte] : [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                // Keep room for a soft break `=` unless this is the last piece of the line.
                let limit = isLast ? 76 : 75
                if column + piece.count > limit {
                    output += [UInt8(ascii: "="), 13, 10]
                    column = 0
                    if piece == [UInt8(ascii: ".")] {
                        output += Array("=2E".utf8)
                        column = 3
                        continue
                    }
                }
                output += piece
                column += piece.count
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `Sun, 29 Nov 2026 22:46:37 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return
            "\(days[(parts.weekday ?? 1) - 1]), \(parts.day ?? 1) \(months[(parts.month ?? 1) - 1]) \(parts.year ?? 1970) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }

    /// C0 controls (CR and LF among them), DEL and the C1 controls.
    static func isForbiddenInHeader(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
