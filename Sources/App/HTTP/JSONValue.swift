/// Any JSON value, parsed without a schema so that shape errors can be reported per member
/// (a number where a string belongs is a 422 naming the member, not a generic 400).
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case number
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])
}
