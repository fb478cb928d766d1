import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The few pages a person sees in a browser, e.g. after clicking a verification link.
enum HTMLPages {
    /// The pages' only style, inline; the Content-Security-Policy allows exactly this text by
    /// its hash, and no script at all.
    static let stylesheet = """
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; background: #f5f5f7; color: #1d1d1f; margin: 0; }
        main { max-width: 32rem; margin: 12vh auto; background: #fff; border-radius: 12px; padding: 2rem 2.5rem; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
        h1 { font-size: 1.4rem; margin-top: 0; }
        p { line-height: 1.5; }
        label { display: block; margin: 1rem 0 .3rem; }
        input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem; font-size: 1rem; border: 1px solid #c7c7cc; border-radius: 8px; }
        button { margin-top: 1.2rem; padding: .6rem 1.2rem; font-size: 1rem; border: 0; border-radius: 8px; background: #0071e3; color: #fff; }
        """

    /// `'sha256-…'` of `stylesheet`, for the Content-Security-Policy.
    static let stylesheetHash = "'sha256-\(Data(SHA256.hash(data: Data(stylesheet.utf8))).base64EncodedString())'"

    /// True when the Accept header lists `text/html` before any JSON type (as browsers send it).
    static func prefersHTML(_ accept: String?) -> Bool {
        guard let accept else { return false }
        for item in accept.utf8.split(separator: UInt8(ascii: ",")) {
            let mediaType = trimmed(item.prefix { $0 != UInt8(ascii: ";") })
            if equalsIgnoringCase(mediaType, "text/html") || equalsIgnoringCase(mediaType, "application/xhtml+xml") {
                return true
            }
            if equalsIgnoringCase(mediaType, "application/json")
                || equalsIgnoringCase(mediaType, "application/problem+json")
            {
                return false
            }
        }
        return false
    }

    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }

    /// ASCII case-insensitive comparison with a lowercase literal.
    private static func equalsIgnoringCase(_ bytes: Substring.UTF8View.SubSequence, _ literal: String) -> Bool {
        guard bytes.count == literal.utf8.count else { return false }
        return zip(bytes, literal.utf8).allSatisfy { byte, expected in
            let lowered = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
            return lowered == expected
        }
    }

    static func response(status: HTTPResponse.Status, title: String, message: String) -> Response {
        response(status: status, title: title, bodyHTML: "<p>\(EmailTemplates.escape(message))</p>")
    }

    /// A page around `bodyHTML`, which the caller has escaped.
    static func response(status: HTTPResponse.Status, title: String, bodyHTML: String) -> Response {
        let html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(EmailTemplates.escape(title))</title>
            <style>\(Self.stylesheet)</style>
            </head>
            <body><main><h1>\(EmailTemplates.escape(title))</h1>\(bodyHTML)</main></body>
            </html>
            """
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html))
        )
    }
}
