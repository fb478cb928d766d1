import Foundation
import Testing

@testable import App

@Suite("MIME rendering of emails")
struct MIMEMessageTests {
    @Test("a message is multipart/alternative with both parts, CRLF only, 7-bit, no line over 78 octets")
    func shape() throws {
        let rendered = try MIMEMessage.render(sampleMessage(to: "ada@example.com"))
        #expect(rendered.contains("Content-Type: multipart/alternative;\r\n boundary=\"=_"))
        #expect(rendered.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(rendered.contains("Content-Type: text/html; charset=utf-8"))
        #expect(!rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(rendered.utf8.allSatisfy { $0 < 128 })
        #expect(rendered.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(rendered.contains("Message-ID: <"))
        #expect(rendered.contains("@example.test>"))
        #expect(rendered.contains("Reply-To: support@example.test"))
        #expect(rendered.contains("From: \"Example Accounts\" <no-reply@example.test>"))
    }

    @Test("the Message-ID is the outbox id under the sender's domain, the same on every attempt")
    func stableMessageID() throws {
        let id = UUID()
        let message = EmailMessage(
            id: id, from: EmailAddress("no-reply@Mail.Example.test")!, to: "a@example.com", subject: "s",
            textBody: "t", htmlBody: "h")
        #expect(message.messageID == "<\(id.uuidString.lowercased())@mail.example.test>")
    }

    @Test("a non-ASCII subject and sender name become RFC 2047 encoded words that decode back")
    func encodedWords() throws {
        let subject = "Bestätigen Sie Ihre E-Mail-Adresse — 確認してください, bitte jetzt gleich, es ist wichtig"
        let words = MIMEMessage.encodedWords(subject)
        #expect(words.allSatisfy { $0.utf8.count <= 75 && $0.hasPrefix("=?utf-8?B?") && $0.hasSuffix("?=") })
        let decoded = words.map { word -> String in
            let base64 = String(word.dropFirst(10).dropLast(2))
            return String(decoding: Data(base64Encoded: base64)!, as: UTF8.self)
        }.joined()
        #expect(decoded == subject)
        let header = MIMEMessage.header("Subject", subject)
        #expect(header.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(header.components(separatedBy: "\r\n").dropFirst().allSatisfy { $0.hasPrefix(" ") })
    }

    @Test("quoted-printable keeps lines at 76, encodes '=', non-ASCII and a leading dot, and decodes back")
    func quotedPrintable() throws {
        let text = ".starts with a dot\n" + String(repeating: "long line é = ", count: 40) + "\ntrailing space \nend"
        let encoded = MIMEMessage.quotedPrintable(text)
        #expect(encoded.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 76 })
        #expect(encoded.hasPrefix("=2Estarts"))
        #expect(encoded.contains("=C3=A9"))
        #expect(encoded.contains("trailing space=20\r\n"))
        #expect(decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test(
        "a recipient or subject with CR, LF or another control character never reaches a header",
        arguments: [
            ("victim@example.com\r\nBcc: everyone@example.com", "Hello"),
            ("victim@example.com", "Hello\r\nBcc: everyone@example.com"),
            ("victim@example.com", "Hello\u{0}"),
            ("victim@example.com", "Hello\u{85}there"),
            ("not an address", "Hello"),
        ])
    func headerInjection(recipient: String, subject: String) throws {
        let message = EmailMessage(
            from: EmailAddress("no-reply@example.test")!, to: recipient, subject: subject, textBody: "t", htmlBody: "h")
        #expect(throws: EmailDeliveryError.self) { try MIMEMessage.render(message) }
        do {
            _ = try MIMEMessage.render(message)
        } catch {
            #expect(error.kind == .permanent)
        }
        #expect(throws: EmailDeliveryError.self) { try SendGridTransport.body(message) }
    }

    @Test("SMTP dot-stuffing doubles a leading dot and ends every line with CRLF")
    func dotStuffing() {
        #expect(SMTPConnection.dotStuffed("a\n.b\r\n..c\n") == "a\r\n..b\r\n...c\r\n")
    }

    @Test("the Date header is RFC 5322")
    func date() {
        #expect(
            MIMEMessage.rfc5322Date(Date(timeIntervalSince1970: 1_440_938_160)) == "Sun, 30 Aug 2015 12:36:00 +0000")
    }

    private func decodeQuotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let source = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "="), index + 2 < source.count,
                let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
