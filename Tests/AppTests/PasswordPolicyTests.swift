import Testing

@testable import App

@Suite("Password policy")
struct PasswordPolicyTests {
    let policy = PasswordPolicy()

    private func rules(_ password: String, email: String = "someone@example.com") -> [String] {
        policy.violations(password: password, email: EmailAddress(email)).map(\.rule)
    }

    @Test(
        "the 100,000 most common passwords are refused, whatever their case",
        arguments: ["12345678", "password1", "PassWord1", "qwertyuiop", "iloveyou"])
    func commonPasswords(password: String) {
        #expect(rules(password) == ["common_password"])
    }

    @Test("the shipped list holds every entry of 8 characters or more")
    func listSize() {
        #expect(CommonPasswords.shared.count == 38_452)
    }

    @Test("a password containing the address's local part is refused; very short local parts are not checked")
    func localPart() {
        #expect(rules("my johnsmith passphrase", email: "JohnSmith@example.com") == ["contains_email_local_part"])
        #expect(rules("xJOHNSMITHx2024!", email: "johnsmith@example.com") == ["contains_email_local_part"])
        #expect(rules("a long unrelated passphrase", email: "al@example.com").isEmpty)
    }

    @Test("uncommon passwords that follow the rules pass")
    func acceptable() {
        #expect(rules("correct horse battery staple").isEmpty)
        #expect(rules("tz8#kq2!").isEmpty)
    }

    @Test("rules count characters after NFC normalisation")
    func nfc() {
        // Seven "é" written as e + combining accent: 14 code points, 7 characters.
        #expect(rules(String(repeating: "e\u{301}", count: 7)) == ["too_short"])
        #expect(rules(String(repeating: "e\u{301}", count: 8)).isEmpty)
    }
}
