/// Any JSON value, decoded without a schema so that shape errors can be reported per member
/// (a number where a string belongs is a 422 naming the member, not a generic 400).
public enum JSONValue: Sendable, Equatable, Decodable {
    case string(String)
    case number
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if (try? container.decode(Double.self)) != nil {
            self = .number
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }
}
