/// One broken validation rule of one request field.
public struct FieldViolation: Sendable, Equatable, Codable {
    /// The JSON member at fault, e.g. `email`; empty for the body as a whole.
    public let field: String
    /// A stable machine-readable rule name, e.g. `too_short`.
    public let rule: String
    /// A sentence for people.
    public let detail: String

    public init(field: String, rule: String, detail: String) {
        self.field = field
        self.rule = rule
        self.detail = detail
    }
}
