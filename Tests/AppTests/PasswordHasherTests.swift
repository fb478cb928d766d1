import Foundation
import NIOConcurrencyHelpers
import Testing

@testable import App

#if canImport(Glibc)
import Glibc
#endif

@Suite("Password hashing")
struct PasswordHasherTests {
    let hasher = PasswordHasher(cost: 4)

    @Test("a hash verifies its own password and no other")
    func verifiesOwnPassword() async throws {
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(try await hasher.verify("correct horse battery staple", against: hash))
        #expect(try await hasher.verify("correct horse battery stapler", against: hash) == false)
        #expect(!hash.contains("correct horse"))
    }

    @Test("passwords sharing their first 72 bytes do not verify against each other's hash")
    func noTruncationAt72Bytes() async throws {
        let prefix = String(repeating: "p", count: 72)
        let first = prefix + "-one"
        let second = prefix + "-two"
        let hash = try await hasher.hash(first)
        #expect(try await hasher.verify(first, against: hash))
        #expect(try await hasher.verify(second, against: hash) == false)
        #expect(try await hasher.verify(prefix, against: hash) == false)
    }

    @Test("the same password in composed and decomposed Unicode form matches")
    func unicodeNormalisation() async throws {
        let composed = "caf\u{E9} au lait"
        let decomposed = "cafe\u{301} au lait"
        #expect(composed.utf8.count != decomposed.utf8.count)
        let hash = try await hasher.hash(composed)
        #expect(try await hasher.verify(decomposed, against: hash))
    }

    @Test("the hash uses the configured cost and the bcrypt-sha256 scheme")
    func costAndScheme() async throws {
        let hash = try await PasswordHasher(cost: 5).hash("another passphrase")
        #expect(hash.hasPrefix("bcrypt-sha256$$2b$05$"))
        #expect(
            try await hasher.verify("another passphrase", against: String(hash.dropFirst("bcrypt-sha256$".count)))
                == false)
    }

    @Test("two hashes of one password differ (salted)")
    func salted() async throws {
        let first = try await hasher.hash("same passphrase")
        let second = try await hasher.hash("same passphrase")
        #expect(first != second)
    }

    #if os(Linux)
    @Test("a hashing thread lowers its own priority, and only its own")
    func hashingThreadsRunAtLowerPriority() {
        let expected = min(19, PasswordHasher.processNice + PasswordHasher.niceIncrement)
        let seen = NIOLockedValueBox<Int32?>(nil)
        let done = DispatchSemaphore(value: 0)
        // A thread of its own, as the pool's are.
        Thread.detachNewThread {
            PasswordHasher.lowerThreadPriority()
            let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(linuxThreadID()))
            seen.withLockedValue { $0 = nice }
            done.signal()
        }
        done.wait()
        #expect(seen.withLockedValue { $0 } == expected)
        // This thread (as the event loops) keeps the process's priority: nice is per thread.
        #expect(
            getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(linuxThreadID())) == PasswordHasher.processNice)
    }
    #endif
}
