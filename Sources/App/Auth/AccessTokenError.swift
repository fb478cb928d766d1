/// A presented access token is unusable: malformed, badly signed, expired, or not ours.
public struct AccessTokenError: Error, Sendable {}
