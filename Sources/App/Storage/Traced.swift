/// A database connection or pool whose statements are spans (`DatabaseSpans`): the stores
/// hold one of these instead of the driver's type, so no statement goes untraced.
struct Traced<Base: Sendable>: Sendable {
    let base: Base

    init(_ base: Base) {
        self.base = base
    }
}
