import Testing

@testable import App

@Suite("HTML escaping")
struct HTMLEscapingTests {
    @Test("every markup character is escaped, also when a combining mark follows it")
    func combiningMarks() {
        // The audit: a quote followed by a combining mark is one Character, not `"`, and
        // passed through a Character-wise escaper; the browser still ends the attribute there.
        let hostile = "\"\u{0301} onmouseover=alert(1) x='\u{0308}<\u{20DD}script>&\u{0301}"
        let escaped = EmailTemplates.escape(hostile)
        #expect(!escaped.unicodeScalars.contains { ["\"", "'", "<", ">"].contains($0) })
        #expect(escaped.unicodeScalars.filter { $0 == "&" }.count == 5)  // each begins an entity
        let expected = "&quot;\u{0301} onmouseover=alert(1) x=&#39;\u{0308}&lt;\u{20DD}script&gt;&amp;\u{0301}"
        #expect(Array(escaped.unicodeScalars) == Array(expected.unicodeScalars))
        #expect(EmailTemplates.escape("plain ünïcode 🙂") == "plain ünïcode 🙂")
    }
}
