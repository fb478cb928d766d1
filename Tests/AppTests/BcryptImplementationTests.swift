import Foundation
import Testing

@testable import App

#if canImport(Glibc)
import Glibc
#endif

@Suite("bcrypt implementations: libxcrypt and HummingbirdBcrypt")
struct BcryptImplementationTests {
    /// What this machine offers: libxcrypt wherever `libcrypt.so.1` can be opened.
    static let systemHasLibXCrypt: Bool = {
        #if os(Linux)
        guard let handle = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL) else { return false }
        dlclose(handle)
        return true
        #else
        return false
        #endif
    }()

    @Test("libxcrypt is chosen wherever libcrypt.so.1 opens; HummingbirdBcrypt is always there")
    func choice() {
        let names = BcryptImplementation.available.map(\.description)
        #expect(names.last == "hummingbird")
        #expect(names.contains("libxcrypt") == Self.systemHasLibXCrypt)
        #expect(BcryptImplementation.fastest.description == (Self.systemHasLibXCrypt ? "libxcrypt" : "hummingbird"))
    }

    @Test("every implementation reproduces the published vectors and refuses near misses")
    func knownAnswers() {
        for implementation in BcryptImplementation.available {
            for vector in BcryptImplementation.knownAnswers {
                #expect(implementation.verify(vector.password, hash: vector.hash), "\(implementation) \(vector.hash)")
                #expect(!implementation.verify("!" + vector.password, hash: vector.hash), "\(implementation)")
                // A $2b$ copy of a $2a$ vector is the same hash for passwords of 72 bytes or fewer.
                let modern = "$2b$" + vector.hash.dropFirst(4)
                #expect(implementation.verify(vector.password, hash: modern), "\(implementation) \(modern)")
            }
            #expect(!implementation.verify("U*U", hash: "$2b$05$short"), "\(implementation)")
            #expect(!implementation.verify("U*U", hash: ""), "\(implementation)")
        }
    }

    @Test("hashes made by one implementation verify with the other, both ways, and are $2b$ at the cost asked")
    func interchangeable() async throws {
        let implementations = BcryptImplementation.available
        for maker in implementations {
            let hash = try await PasswordHasher(cost: 5, implementation: maker).hash("a shared passphrase")
            #expect(hash.hasPrefix(PasswordHasher.schemePrefix + "$2b$05$"), "\(maker)")
            for checker in implementations {
                let hasher = PasswordHasher(cost: 5, implementation: checker)
                #expect(try await hasher.verify("a shared passphrase", against: hash), "\(maker) → \(checker)")
                #expect(try await !hasher.verify("another passphrase", against: hash), "\(maker) → \(checker)")
            }
        }
        #expect(implementations.count == (Self.systemHasLibXCrypt ? 2 : 1))
    }

    @Test("two hashes of one password differ (fresh salt each time)")
    func freshSalt() async throws {
        let hasher = PasswordHasher(cost: 4, implementation: .fastest)
        let first = try await hasher.hash("same password twice")
        let second = try await hasher.hash("same password twice")
        #expect(first != second)
    }
}
