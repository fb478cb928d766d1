import Testing

@testable import App

@Suite("Strict JSON parsing of request bodies")
struct StrictJSONParserTests {
    private func parse(_ text: String) throws(StrictJSONParser.Failure) -> JSONValue {
        try StrictJSONParser.parse(Array(text.utf8))
    }

    @Test("well-formed documents parse to their values")
    func wellFormed() throws {
        #expect(
            try parse(#" {"a": "b", "n": -1.5e+3, "t": true, "f": false, "z": null, "l": [1, "x", {}]} "#)
                == .object([
                    "a": .string("b"), "n": .number, "t": .bool(true), "f": .bool(false), "z": .null,
                    "l": .array([.number, .string("x"), .object([:])]),
                ]))
        #expect(try parse(#""caf\u00e9 \ud83d\ude00 \"q\" \\ \/ \n""#) == .string("café 😀 \"q\" \\ / \n"))
        #expect(try parse("0") == .number)
    }

    @Test(
        "anything outside the grammar is a syntax error",
        arguments: [
            "", " ", "{", #"{"a":1,}"#, "[1,]", "[1 2]", #"{'a':1}"#, #"{a:1}"#, "01", "1.", ".5", "+1", "1e", "-",
            "NaN", "Infinity", "tru", "nul", #""unterminated"#, "\"tab\there\"", #""\x41""#, #""\u12""#,
            #""\ud83d""#, #""\ude00""#, "{} {}", "/* c */ {}", #"{"a" 1}"#,
        ]
    )
    func syntaxErrors(text: String) {
        #expect(throws: StrictJSONParser.Failure.syntax) { try parse(text) }
    }

    @Test("a member named twice is refused, however it is escaped")
    func duplicateMembers() {
        #expect(throws: StrictJSONParser.Failure.duplicateMember("email")) {
            try parse(#"{"email":"a@example.com","email":"b@example.com"}"#)
        }
        #expect(throws: StrictJSONParser.Failure.duplicateMember("email")) {
            try parse(#"{"email":"a@example.com","\u0065mail":"b@example.com"}"#)
        }
    }

    @Test("nesting is bounded")
    func depthBound() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: StrictJSONParser.Failure.tooDeep) { try parse(deep) }
        let allowed =
            String(repeating: "[", count: StrictJSONParser.maxDepth)
            + String(repeating: "]", count: StrictJSONParser.maxDepth)
        _ = try parse(allowed)
    }

    @Test("bytes that are not UTF-8 are refused")
    func invalidUTF8() {
        #expect(throws: StrictJSONParser.Failure.invalidUTF8) {
            try StrictJSONParser.parse([UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")])
        }
    }
}
