/// An error that says itself how it is answered over HTTP, so the problem middleware needs no
/// case for it and it cannot fall through to a 500.
protocol ProblemRepresentable: Error {
    var problem: Problem { get }
}
