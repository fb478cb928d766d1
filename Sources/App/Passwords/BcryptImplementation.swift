import Foundation
import HummingbirdBcrypt

#if canImport(Glibc)
import Glibc
#endif

/// A bcrypt implementation. Both write `$2b$` strings and read each other's (and `$2a$`), so
/// the choice changes speed only, never a stored hash.
public enum BcryptImplementation: Sendable, CustomStringConvertible {
    /// libxcrypt's `crypt_rn` (Openwall's crypt_blowfish, hand-tuned C), loaded from the
    /// system's `libcrypt.so.1` at start-up.
    case libxcrypt(LibXCrypt)
    /// HummingbirdBcrypt (OpenBSD's C code, compiled into the binary): always there.
    case hummingbird

    public var description: String {
        switch self {
        case .libxcrypt: "libxcrypt"
        case .hummingbird: "hummingbird"
        }
    }

    /// The fastest implementation that works on this machine: libxcrypt when `libcrypt.so.1`
    /// loads and gets the published test vectors right, otherwise HummingbirdBcrypt. Chosen
    /// once per process.
    public static let fastest: BcryptImplementation = available[0]

    /// Every implementation that works here, fastest first.
    public static let available: [BcryptImplementation] = {
        var implementations: [BcryptImplementation] = []
        if let library = LibXCrypt.load(), BcryptImplementation.libxcrypt(library).passesKnownAnswers {
            implementations.append(.libxcrypt(library))
        }
        implementations.append(.hummingbird)
        return implementations
    }()

    /// A new hash of `input` with a fresh random salt at `cost`.
    func hash(_ input: String, cost: Int) -> String {
        switch self {
        case .libxcrypt(let library):
            // Only a failure of the system's random source or of the library itself gets here:
            // the library passed its known answers at start-up.
            if let setting = library.setting(cost: cost), let hash = library.crypt(input, setting: setting) {
                return hash
            }
            return Bcrypt.hash(input, cost: UInt8(cost))
        case .hummingbird:
            return Bcrypt.hash(input, cost: UInt8(cost))
        }
    }

    /// Whether `input` matches `hash`; compared in constant time.
    func verify(_ input: String, hash: String) -> Bool {
        switch self {
        case .libxcrypt(let library):
            guard let computed = library.crypt(input, setting: hash) else { return false }
            return Self.constantTimeEqual(computed, hash)
        case .hummingbird:
            return Bcrypt.verify(input, hash: hash)
        }
    }

    /// Published vectors (Openwall's crypt_blowfish test set, also used by OpenBSD and passlib).
    static let knownAnswers: [(password: String, hash: String)] = [
        ("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
        ("U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"),
        ("U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"),
        ("", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"),
        (
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
            "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
        ),
    ]

    /// Whether this implementation accepts every known answer and refuses a wrong password
    /// (changed at its start: bcrypt reads only the first 72 bytes).
    var passesKnownAnswers: Bool {
        Self.knownAnswers.allSatisfy { verify($0.password, hash: $0.hash) && !verify("x" + $0.password, hash: $0.hash) }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// The system's libxcrypt, opened with `dlopen` so that the binary does not need it: where it
/// is missing (an image without `libcrypt.so.1`) HummingbirdBcrypt is used instead.
public final class LibXCrypt: Sendable {
    /// `char *crypt_rn(const char *phrase, const char *setting, void *data, int size)`
    typealias CryptRN =
        @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, Int32) ->
        UnsafeMutablePointer<CChar>?
    /// `char *crypt_gensalt_rn(const char *prefix, unsigned long count, const char *rbytes,
    /// int nrbytes, char *output, int output_size)`
    typealias GensaltRN =
        @convention(c) (
            UnsafePointer<CChar>?, UInt, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<CChar>?, Int32
        ) -> UnsafeMutablePointer<CChar>?

    private let cryptRN: CryptRN
    private let gensaltRN: GensaltRN

    /// `sizeof(struct crypt_data)` in libxcrypt 4: the scratch space `crypt_rn` needs.
    static let dataSize = 32768

    private init(cryptRN: CryptRN, gensaltRN: GensaltRN) {
        self.cryptRN = cryptRN
        self.gensaltRN = gensaltRN
    }

    static func load() -> LibXCrypt? {
        #if os(Linux)
        guard let handle = dlopen("libcrypt.so.1", RTLD_NOW | RTLD_LOCAL),
            let crypt = dlsym(handle, "crypt_rn"), let gensalt = dlsym(handle, "crypt_gensalt_rn")
        else { return nil }
        return LibXCrypt(
            cryptRN: unsafeBitCast(crypt, to: CryptRN.self), gensaltRN: unsafeBitCast(gensalt, to: GensaltRN.self))
        #else
        return nil
        #endif
    }

    /// `crypt_rn(phrase, setting)`: the hash, or nil when the library refuses the setting. The
    /// scratch space holds key material, so it is wiped before it is freed.
    func crypt(_ phrase: String, setting: String) -> String? {
        let data = UnsafeMutableRawPointer.allocate(byteCount: Self.dataSize, alignment: 16)
        data.initializeMemory(as: UInt8.self, repeating: 0, count: Self.dataSize)
        defer {
            data.initializeMemory(as: UInt8.self, repeating: 0, count: Self.dataSize)
            data.deallocate()
        }
        return phrase.withCString { phrase in
            setting.withCString { setting in
                cryptRN(phrase, setting, data, Int32(Self.dataSize)).map { String(cString: $0) }
            }
        }
    }

    /// A `$2b$` setting at `cost` with 16 random bytes of salt from the system's generator.
    func setting(cost: Int) -> String? {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in CChar(bitPattern: generator.next() as UInt8) }
        var output = [CChar](repeating: 0, count: 64)
        let written = output.withUnsafeMutableBufferPointer { output in
            salt.withUnsafeBufferPointer { salt in
                gensaltRN("$2b$", UInt(cost), salt.baseAddress, 16, output.baseAddress, Int32(output.count))
            }
        }
        guard written != nil else { return nil }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
