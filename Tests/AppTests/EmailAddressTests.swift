import App
import Testing

@Suite("Email addresses")
struct EmailAddressTests {
    @Test(
        "common address forms are accepted",
        arguments: [
            "a@example.com", "first.last@example.co.uk", "user+tag@example.com", "o'brien@example.ie",
            "x_y-z@sub.domain.example", "UPPER@EXAMPLE.COM", "user@xn--bcher-kva.example", "1234@example.io",
        ]
    )
    func accepted(address: String) {
        #expect(EmailAddress(address) != nil)
    }

    @Test("the address is trimmed and its normalised form is lower case")
    func normalised() throws {
        let address = try #require(EmailAddress("  Mixed.Case@Example.COM\n"))
        #expect(address.value == "Mixed.Case@Example.COM")
        #expect(address.normalized == "mixed.case@example.com")
        #expect(address.localPart == "mixed.case")
    }

    @Test("a local part over 64 characters is rejected")
    func localPartTooLong() {
        #expect(EmailAddress(String(repeating: "a", count: 65) + "@example.com") == nil)
        #expect(EmailAddress(String(repeating: "a", count: 64) + "@example.com") != nil)
    }
}
