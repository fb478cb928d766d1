import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

@Suite("Rate limits and the login throttle")
struct RateLimitTests {
    private func registerBody(_ email: String) -> ByteBuffer {
        ByteBuffer(string: #"{"email":"\#(email)","password":"a good passphrase"}"#)
    }

    /// Registers from the client IP `ip`, as a trusted proxy on loopback would forward it.
    private func register(
        _ client: some TestClientProtocol, _ email: String, from ip: String
    ) async throws -> TestResponse {
        try await client.execute(
            uri: "/v1/register",
            method: .post,
            headers: [.contentType: "application/json", HTTPField.Name("X-Forwarded-For")!: "203.0.113.99, \(ip)"],
            body: registerBody(email)
        )
    }

    /// Moves every counter one window into the past, as if the window had ended.
    private func endWindow(_ env: TestEnvironment) async throws {
        try await env.execute(
            postgres: "UPDATE rate_limit_counters SET window_start = window_start - interval '1 day'",
            sqlite: "UPDATE rate_limit_counters SET window_start = window_start - 86400"
        )
    }

    @Test(
        "registrations per client IP: over the limit 429 with Retry-After, nothing written; reset when the window ends",
        arguments: Backend.allCases)
    func perIP(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: { configuration in
                configuration.rateLimits = RateLimitSettings(registerPerIP: 2)
                configuration.http.trustedProxies = [IPNetwork("127.0.0.1")!, IPNetwork("::1")!]
            }
        ) { env in
            try await env.withApp(.live) { client in
                #expect(try await register(client, "one@example.com", from: "198.51.100.1").status == .accepted)
                #expect(try await register(client, "two@example.com", from: "198.51.100.1").status == .accepted)
                let refused = try await register(client, "three@example.com", from: "198.51.100.1")
                #expect(refused.status == .tooManyRequests)
                #expect(refused.headers[.contentType] == "application/problem+json")
                #expect(refused.json["code"] as? String == "rate_limited")
                let retryAfter = try #require(refused.headers[.retryAfter].flatMap(Int.init))
                #expect((1...86400).contains(retryAfter))  // at most the window (a day in tests)
                #expect(try await env.count("SELECT count(*) FROM users WHERE email = 'three@example.com'") == 0)
                // Another client is not affected; the spoofed left-most entry is ignored.
                #expect(try await register(client, "four@example.com", from: "198.51.100.2").status == .accepted)
                try await endWindow(env)
                #expect(try await register(client, "five@example.com", from: "198.51.100.1").status == .accepted)
            }
        }
    }

    @Test("registrations per address, whatever the client IP", arguments: Backend.allCases)
    func perAddress(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: { configuration in
                configuration.rateLimits = RateLimitSettings(registerPerEmail: 2)
                configuration.http.trustedProxies = [IPNetwork("127.0.0.1")!, IPNetwork("::1")!]
            }
        ) { env in
            try await env.withApp(.live) { client in
                #expect(try await register(client, "target@example.com", from: "198.51.100.1").status == .accepted)
                #expect(try await register(client, "TARGET@example.com", from: "198.51.100.2").status == .accepted)
                #expect(
                    try await register(client, "target@example.com", from: "198.51.100.3").status == .tooManyRequests)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "target@example.com").count == 2)
            }
        }
    }

    @Test("resend and forgot share a budget per address", arguments: Backend.allCases)
    func emailRequests(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.rateLimits = RateLimitSettings(emailRequestsPerAddress: 2) }
        ) { env in
            try await env.withApp { client in
                #expect(
                    try await client.postJSON("/v1/verify/resend", object: ["email": "x@example.com"]).status
                        == .accepted)
                #expect(
                    try await client.postJSON("/v1/password/forgot", object: ["email": "x@example.com"]).status
                        == .accepted)
                let third = try await client.postJSON("/v1/password/forgot", object: ["email": "x@example.com"])
                #expect(third.status == .tooManyRequests)
                #expect(third.headers[.retryAfter] != nil)
            }
        }
    }

    @Test("the counters are shared by two instances on one database")
    func sharedAcrossInstances() async throws {
        try await TestEnvironment.with(.postgres, configure: { $0.rateLimits = RateLimitSettings(registerPerEmail: 2) })
        { env in
            let first = try await env.makeApplication()
            let second = try await env.makeApplication()
            try await first.test(.router) { one in
                try await second.test(.router) { two in
                    var statuses: [HTTPResponse.Status] = []
                    for instance in [one, two, one, two] {
                        statuses.append(
                            try await instance.register(email: "shared@example.com", password: "a good passphrase")
                                .status)
                    }
                    #expect(statuses == [.accepted, .accepted, .tooManyRequests, .tooManyRequests])
                }
            }
        }
    }

    @Test(
        "after too many failed logins an account is throttled for the rest of the window, even with the right password",
        arguments: Backend.allCases)
    func bruteForceThrottle(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.rateLimits = RateLimitSettings(loginFailuresPerAccount: 3) }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "victim@example.com", password: "right passphrase")
                for _ in 0..<3 {
                    #expect(
                        try await client.login(email: "victim@example.com", password: "guess passphrase").status
                            == .unauthorized)
                }
                let throttled = try await client.login(email: "victim@example.com", password: "right passphrase")
                #expect(throttled.status == .tooManyRequests)
                #expect(throttled.headers[.retryAfter] != nil)
                // Unknown addresses are throttled the same way: the throttle reveals nothing.
                for _ in 0..<3 {
                    _ = try await client.login(email: "ghost@example.com", password: "guess passphrase")
                }
                #expect(
                    try await client.login(email: "ghost@example.com", password: "guess passphrase").status
                        == .tooManyRequests)
                // Other accounts are not affected, and the owner gets back in when the window ends.
                try await endWindow(env)
                #expect(try await client.login(email: "victim@example.com", password: "right passphrase").status == .ok)
            }
        }
    }

    private func login(
        _ client: some TestClientProtocol, _ email: String, _ password: String, from network: String
    ) async throws -> Int {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        return try await client.execute(
            uri: "/v1/login", method: .post,
            headers: [.contentType: "application/json", .xForwardedFor: network],
            body: ByteBuffer(bytes: body)
        ).status.code
    }

    @Test(
        "20 concurrent wrong passwords against a limit of 10: exactly 10 are checked, the rest refused 429",
        arguments: Backend.allCases)
    func throttleIsAtomic(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: {
                $0.rateLimits = RateLimitSettings(loginPerIP: 1000, loginFailuresPerAccount: 10)
                TestEnvironment.patientDatabase(&$0)
            }
        ) { env in
            // The live test client has one connection and sends one request at a time; through
            // the router the requests really run at once.
            try await env.withApp(.router) { client in
                try await env.activate(client, email: "stuffed@example.com", password: "right passphrase")
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            try await client.login(email: "stuffed@example.com", password: "guess \(index) passphrase")
                                .status.code
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                // The audit: all 20 were answered 401, i.e. checked.
                #expect(statuses.filter { $0 == 401 }.count == 10)
                #expect(statuses.filter { $0 == 429 }.count == 10)
            }
        }
    }

    @Test(
        "a third party cannot lock the owner out: the throttle counts per account and network, a ceiling for all, a reset clears it",
        arguments: Backend.allCases)
    func throttlePerNetwork(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: {
                $0.rateLimits = RateLimitSettings(loginFailuresPerAccount: 3, loginFailuresPerAccountCeiling: 8)
                $0.http.trustedProxies = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
                $0.accounts.emailCooldown = .zero
            }
        ) { env in
            try await env.withApp(.live) { client in
                try await env.activate(client, email: "owner@example.com", password: "right passphrase")
                let attacker = "198.51.100.7"
                let owner = "203.0.113.9"
                let attempts =
                    [try await login(client, "owner@example.com", "guess", from: attacker)]
                    + [try await login(client, "owner@example.com", "guess", from: attacker)]
                    + [try await login(client, "owner@example.com", "guess", from: attacker)]
                    + [try await login(client, "owner@example.com", "guess", from: attacker)]
                #expect(attempts == [401, 401, 401, 429])
                // The attacker's network is throttled; the owner's is not.
                #expect(try await login(client, "owner@example.com", "right passphrase", from: owner) == 200)
                // Guesses spread over many networks meet the ceiling for all networks...
                for index in 0..<6 {
                    _ = try await login(client, "owner@example.com", "guess", from: "192.0.2.\(index)")
                }
                #expect(try await login(client, "owner@example.com", "right passphrase", from: owner) == 429)
                // ...until the owner resets the password, which clears the throttle.
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": "owner@example.com"])
                try await env.deliverEmails()
                let email = try #require(env.transport.sent(to: "owner@example.com").last)
                let token = try #require(resetToken(in: email.textBody))
                #expect(
                    try await client.postJSON(
                        "/v1/password/reset", object: ["token": token, "password": "brand new passphrase"]
                    ).status == .noContent)
                #expect(try await login(client, "owner@example.com", "brand new passphrase", from: owner) == 200)
            }
        }
    }

    @Test("refresh-token exchanges are limited per client network", arguments: Backend.allCases)
    func refreshPerIP(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.rateLimits = RateLimitSettings(refreshPerIP: 3) }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "refresher@example.com", password: "right passphrase")
                var token =
                    try await client.login(email: "refresher@example.com", password: "right passphrase")
                    .json["refresh_token"] as? String ?? ""
                for _ in 0..<3 {
                    let response = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token])
                    #expect(response.status == .ok)
                    token = response.json["refresh_token"] as? String ?? ""
                }
                let limited = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token])
                #expect(limited.status == .tooManyRequests)
                #expect(limited.headers[.retryAfter] != nil)
                try await endWindow(env)
                #expect(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token]).status == .ok)
            }
        }
    }

    @Test(
        "refresh-token exchanges are limited per session (token family), other sessions unaffected",
        arguments: Backend.allCases)
    func refreshPerFamily(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.rateLimits = RateLimitSettings(refreshPerFamily: 3) }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "looping@example.com", password: "right passphrase")
                var token =
                    try await client.login(email: "looping@example.com", password: "right passphrase")
                    .json["refresh_token"] as? String ?? ""
                for _ in 0..<3 {
                    let response = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token])
                    #expect(response.status == .ok)
                    token = response.json["refresh_token"] as? String ?? ""
                }
                let limited = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token])
                #expect(limited.status == .tooManyRequests)
                #expect(limited.headers[.retryAfter] != nil)
                let other = try await client.login(email: "looping@example.com", password: "right passphrase")
                #expect(
                    try await client.postJSON(
                        "/v1/token/refresh", object: ["refresh_token": other.json["refresh_token"] as? String ?? ""]
                    ).status == .ok)
                // The refused exchange rotated nothing: the token still works once the window has passed.
                try await env.execute(
                    postgres: "UPDATE refresh_tokens SET created_at = created_at - interval '2 days'",
                    sqlite: "UPDATE refresh_tokens SET created_at = created_at - 172800"
                )
                #expect(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token]).status == .ok)
            }
        }
    }

    @Test("successful logins do not count towards the throttle", arguments: Backend.allCases)
    func successesDoNotCount(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.rateLimits = RateLimitSettings(loginFailuresPerAccount: 2) }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "busy@example.com", password: "right passphrase")
                for _ in 0..<5 {
                    #expect(
                        try await client.login(email: "busy@example.com", password: "right passphrase").status == .ok)
                }
            }
        }
    }

    @Test("the client is the peer unless the peer is a trusted proxy; then the right-most untrusted hop")
    func clientIP() {
        let proxies = [IPNetwork("10.0.0.0/8")!, IPNetwork("2001:db8::/32")!]
        let resolve = { (peer: String?, forwarded: [String]) in
            ClientAddressMiddleware.clientNetwork(peer: peer, forwardedFor: forwarded, trustedProxies: proxies)
        }
        #expect(resolve("198.51.100.7", ["1.2.3.4"]) == "198.51.100.7")  // untrusted peer: header ignored
        #expect(resolve("10.1.2.3", ["1.2.3.4, 198.51.100.7"]) == "198.51.100.7")
        #expect(resolve("10.1.2.3", ["1.2.3.4, 198.51.100.7, 10.9.9.9"]) == "198.51.100.7")
        #expect(resolve("10.1.2.3", ["1.2.3.4", "198.51.100.7"]) == "198.51.100.7")
        #expect(resolve("2001:db8::1", ["198.51.100.8"]) == "198.51.100.8")
        #expect(resolve("10.1.2.3", []) == "10.1.2.3")
        #expect(resolve("10.1.2.3", ["not-an-ip"]) != "10.1.2.3")  // never the proxy's bucket
        #expect(resolve(nil, []) == "unknown")
        #expect(IPNetwork("10.0.0.0/8")!.contains("10.255.0.1"))
        #expect(!IPNetwork("10.0.0.0/8")!.contains("11.0.0.1"))
        #expect(IPNetwork("192.168.1.0/24")!.contains("::ffff:192.168.1.9"))
        #expect(IPNetwork("10.0.0.0/33") == nil)
    }

    @Test(
        "addresses are normalised before they name a bucket: IPv4-mapped is IPv4, IPv6 by its /64, ports dropped, garbage apart"
    )
    func clientNetworks() {
        let proxies = [IPNetwork("10.0.0.0/8")!]
        let resolve = { (peer: String, forwarded: [String]) in
            ClientAddressMiddleware.clientNetwork(peer: peer, forwardedFor: forwarded, trustedProxies: proxies)
        }
        // The audit: five addresses of one /64 were five buckets.
        let sameSubnet = [
            "2001:db8:abcd:12::1", "2001:db8:abcd:12::2", "2001:db8:abcd:12:ffff:ffff:ffff:ffff",
            "2001:0db8:abcd:0012:0:0:0:9", "2001:db8:abcd:12:1:2:3:4",
        ].map { resolve($0, []) }
        #expect(Set(sameSubnet) == ["2001:db8:abcd:12::/64"])
        #expect(resolve("2001:db8:abcd:13::1", []) != sameSubnet[0])
        // `::ffff:a.b.c.d` and `a.b.c.d` were two buckets.
        #expect(resolve("::ffff:198.51.100.7", []) == "198.51.100.7")
        #expect(resolve("10.0.0.1", ["::ffff:198.51.100.7"]) == "198.51.100.7")
        // An X-Forwarded-For entry with a port made every client share the proxy's bucket.
        #expect(resolve("10.0.0.1", ["198.51.100.7:51234"]) == "198.51.100.7")
        #expect(resolve("10.0.0.1", ["[2001:db8:1:2::5]:443"]) == "2001:db8:1:2::/64")
        #expect(resolve("10.0.0.1", ["[2001:db8:1:2::5]"]) == "2001:db8:1:2::/64")
        #expect(resolve("10.0.0.1", ["2001:db8:1:2::5"]) == "2001:db8:1:2::/64")
        #expect(resolve("10.0.0.1", ["198.51.100.7:51234", "10.0.0.2:80"]) == "198.51.100.7")
        let garbage = [resolve("10.0.0.1", ["garbage"]), resolve("10.0.0.1", ["also garbage"])]
        #expect(!garbage.contains("10.0.0.1"))
        #expect(garbage[0] != garbage[1])
    }
}
