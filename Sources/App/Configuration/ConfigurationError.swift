/// A setting read from the environment is missing or invalid.
///
/// The description is one line that names the variable, so an operator can fix
/// the deployment without reading a stack trace.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The environment variable at fault.
    public let variable: String
    /// What is wrong with it, phrased to follow the variable name.
    public let reason: String

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable): \(reason)" }
}
