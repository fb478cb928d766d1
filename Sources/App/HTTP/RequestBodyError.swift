/// The request body could not be read as the JSON the endpoint expects.
public enum RequestBodyError: Error, Sendable {
    /// Not `Content-Type: application/json` (415).
    case unsupportedMediaType
    /// Larger than the endpoint accepts (413).
    case tooLarge(limit: Int)
    /// Not well-formed JSON, or not UTF-8 (400).
    case malformed
    /// An object names the same member twice (400).
    case duplicateMember(String)
    /// Nested deeper than the parser allows (400).
    case tooDeep
    /// The body did not arrive within the request timeout (408).
    case timeout
    /// Well-formed JSON that is not an object (422).
    case notAnObject
}
