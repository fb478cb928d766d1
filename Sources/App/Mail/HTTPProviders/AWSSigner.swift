import Crypto
import Foundation

/// AWS Signature Version 4 (the `Authorization` header form), as every AWS HTTP API takes it.
///
/// Checked against AWS's published signature test suite and the S3 documentation's worked
/// examples (`SigV4Tests`).
struct AWSSigner: Sendable {
    let credentials: AWSCredentials
    let region: String
    let service: String

    /// The headers to add to the request (`x-amz-date`, the session token when there is one,
    /// and `authorization`). `headers` are the request's other headers, all of which are
    /// signed; `host` is added from the URL when missing.
    func sign(
        method: String, url: URL, headers: [(String, String)], payload: [UInt8], date: Date
    )
        -> [(String, String)]
    {
        let (amzDate, day) = Self.timestamps(date)
        let payloadHash = SHA256.hash(data: payload).hex
        var signed: [(String, String)] = headers.map { ($0.0.lowercased(), Self.trimmed($0.1)) }
        if !signed.contains(where: { $0.0 == "host" }) { signed.append(("host", Self.hostHeader(url))) }
        var added = [("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        signed += added
        // Headers of one name are joined by commas, in order; names are sorted.
        var byName: [String: [String]] = [:]
        for (name, value) in signed { byName[name, default: []].append(value) }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalRequest = [
            method.uppercased(),
            Self.canonicalPath(url),
            Self.canonicalQuery(url),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Array(canonicalRequest.utf8)).hex,
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)).hex
        added.append(
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return added
    }

    /// `20150830T123600Z` and `20150830`.
    static func timestamps(_ date: Date) -> (String, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let day = pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
        return (day + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z", day)
    }

    static func hostHeader(_ url: URL) -> String {
        let host = url.host ?? ""
        guard let port = url.port else { return host }
        let isDefault = (url.scheme == "https" && port == 443) || (url.scheme == "http" && port == 80)
        return isDefault ? host : "\(host):\(port)"
    }

    /// The path with dot segments and empty segments removed, each segment URI-encoded once.
    static func canonicalPath(_ url: URL) -> String {
        let raw = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? "/"
        var segments: [String] = []
        for segment in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(uriEncode(String(segment).removingPercentEncoding ?? String(segment)))
            }
        }
        let path = "/" + segments.joined(separator: "/")
        return raw.hasSuffix("/") && !segments.isEmpty ? path + "/" : path
    }

    /// Parameters URI-encoded, sorted by name then value, a name alone as `name=`.
    static func canonicalQuery(_ url: URL) -> String {
        guard let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery,
            !query.isEmpty
        else { return "" }
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (uriEncode(decode(parts[0])), parts.count > 1 ? uriEncode(decode(parts[1])) : "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    static func uriEncode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }

    /// Leading and trailing spaces removed, inner runs of spaces collapsed to one.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}

extension Sequence where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension Digest {
    var hex: String { Array(makeIterator()).hex }
}
