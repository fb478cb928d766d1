import Synchronization
import Tracing

/// Child spans of the work being traced: a request's (password hash, transactions and
/// statements, rate-limit checks, the outbox enqueue) and an email delivery's (the transport).
///
/// `ServerSpanMiddleware` and `OutboxWorker` set `work` under a span that is recorded;
/// everywhere else (tracing off, a request the sampler dropped, start-up, housekeeping) it is
/// nil and a child span costs one task-local read.
enum Spans {
    /// The recorded work in progress.
    struct Work: Sendable {
        let tracer: any Tracer
        /// The request's own span context (nil for an email delivery): what an email queued
        /// while serving it links to (`TraceParent.current`).
        let request: ServiceContext?
    }

    @TaskLocal static var work: Work?

    static var tracer: (any Tracer)? { work?.tracer }

    /// Runs `body` in a child span of the current one; `body` gets nil when nothing is traced.
    ///
    /// A thrown error marks the span as failed with the error's type (`error.type`), never its
    /// description: an error's text may quote input.
    static func run<Result>(
        _ name: String, kind: SpanKind = .internal, isolation: isolated (any Actor)? = #isolation,
        _ body: ((any Span)?) async throws -> Result
    ) async throws -> Result {
        guard let tracer else { return try await body(nil) }
        let span = tracer.startSpan(name, context: ServiceContext.current ?? .topLevel, ofKind: kind)
        defer { span.end() }
        do {
            return try await ServiceContext.withValue(span.context) { try await body(span) }
        } catch {
            failed(span, error)
            throw error
        }
    }

    /// Marks `span` as failed by `error`, naming only the error's type.
    static func failed(_ span: any Span, _ error: any Error) {
        span.attributes["error.type"] = String(reflecting: type(of: error))
        span.setStatus(SpanStatus(code: .error))
    }
}

/// The database's spans: one per transaction and one per statement, with the attributes of
/// OpenTelemetry's database conventions that hold nothing but the statement's shape
/// (`db.system.name`, `db.operation.name`, `db.collection.name`); never the bound values.
enum DatabaseSpans {
    enum System: String {
        case postgresql
        case sqlite
    }

    /// A transaction (`BEGIN … COMMIT`, or the rollback when `body` throws).
    static func transaction<Result>(
        _ system: System, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> Result
    ) async throws -> Result {
        try await Spans.run("transaction", kind: .client) { span in
            span?.attributes["db.system.name"] = system.rawValue
            return try await body()
        }
    }

    /// One statement; `sql` is only read when the statement is traced.
    static func statement<Result>(
        _ sql: @autoclosure () -> String, _ system: System, isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> Result
    ) async throws -> Result {
        guard Spans.tracer != nil else { return try await body() }
        let summary = StatementSummary.of(sql())
        return try await Spans.run(summary.spanName, kind: .client) { span in
            span?.attributes["db.system.name"] = system.rawValue
            span?.attributes["db.operation.name"] = summary.operation
            if let table = summary.table { span?.attributes["db.collection.name"] = table }
            return try await body()
        }
    }
}

/// What a statement does and to which table, read from its text (never the bound values):
/// the first keyword, and the first table named after `INTO`, `UPDATE`, `FROM` or `JOIN`.
/// A `WITH` statement is summarised by what its parts write (`WITH UPDATE users, INSERT
/// audit_events`), or by the first table it reads when it writes nothing.
struct StatementSummary: Equatable {
    let operation: String
    let table: String?
    let spanName: String

    init(_ sql: String) {
        let words = sql.split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "(") }.map { String($0) }
        let keywords = words.map { $0.uppercased() }
        let operation = keywords.first ?? "UNKNOWN"
        self.operation = operation
        func isTable(_ index: Int) -> Bool {
            index < words.count && !words[index].contains("(") && !Self.notTables.contains(keywords[index])
        }
        var read: String?
        var writes: [(operation: String, table: String)] = []
        for index in keywords.indices.dropFirst() {
            let previous = keywords[index - 1]
            if read == nil, ["INTO", "UPDATE", "FROM", "JOIN"].contains(previous), isTable(index) {
                read = words[index].lowercased()
            }
            let write: String? =
                switch (index >= 2 ? keywords[index - 2] : "", previous) {
                case ("INSERT", "INTO"): "INSERT"
                case ("DELETE", "FROM"): "DELETE"
                case (let before, "UPDATE") where before != "FOR" && before != "DO": "UPDATE"
                default: nil
                }
            if let write, isTable(index) { writes.append((write, words[index].lowercased())) }
        }
        if operation == "WITH", let first = writes.first {
            table = first.table
            var seen = Set<String>()
            let parts = writes.map { "\($0.operation) \($0.table)" }.filter { seen.insert($0).inserted }
            spanName = "WITH " + parts.joined(separator: ", ")
        } else {
            table = read
            spanName = read.map { "\(operation) \($0)" } ?? operation
        }
    }

    /// The summary of `sql`, read once per distinct text: the statements are the service's own,
    /// a few dozen texts, and reading a long one costs more than its database round trip
    /// (measured: 25% of the server's time at 100% sampling before this cache).
    static func of(_ sql: String) -> StatementSummary {
        if let known = cache.withLock({ $0[sql] }) { return known }
        let summary = StatementSummary(sql)
        cache.withLock { cache in
            if cache.count < 1024 { cache[sql] = summary }
        }
        return summary
    }

    private static let cache = Mutex<[String: StatementSummary]>([:])

    /// Words that may follow `FROM` or `UPDATE` without naming a table (`ON CONFLICT … DO
    /// UPDATE SET`, `FOR UPDATE OF`, `FOR UPDATE SKIP LOCKED`).
    private static let notTables: Set<String> = ["SET", "OF", "ONLY", "LATERAL", "SKIP", "NOWAIT"]
}
