/// A request broke one or more validation rules; answered as 422 with every violation listed.
public struct ValidationError: Error, Sendable {
    public let violations: [FieldViolation]

    public init(_ violations: [FieldViolation]) {
        self.violations = violations
    }
}
