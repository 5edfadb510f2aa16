/// An Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`
/// (the resource may hold further colons and slashes).
public struct ARN: Sendable, Equatable, CustomStringConvertible {
    public var partition: String
    public var service: String
    public var region: String
    public var account: String
    public var resource: String

    /// `nil` unless `text` has the six parts and starts with `arn`.
    public init?(_ text: String) {
        // Split by hand: String's generic `contains` and friends cost more
        // start-up than the whole lookup on the warm credential-process path.
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn" else { return nil }
        partition = String(parts[1])
        service = String(parts[2])
        region = String(parts[3])
        account = String(parts[4])
        resource = String(parts[5])
    }

    public var description: String { "arn:\(partition):\(service):\(region):\(account):\(resource)" }

    /// The last path segment of an IAM resource of `type`:
    /// `arn:aws:iam::123456789012:user/division/alice` with `user` → `alice`;
    /// `nil` for another service or type.
    public func iamName(ofType type: String) -> String? {
        guard service == "iam", resource.hasPrefix(type + "/"), resource.utf8.count > type.utf8.count + 1 else { return nil }
        return resource.split(separator: "/").last.map(String.init)
    }
}
