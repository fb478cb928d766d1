/// Bucket names as both dialects match them.
enum RateLimitBuckets {
    /// A LIKE pattern (escape character `\`) for every bucket named `prefix:…`, with the
    /// prefix's own wildcards taken literally.
    static func subBucketPattern(_ prefix: String) -> String {
        prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + ":%"
    }
}
