/// Where the key's salt and challenges come from. Tests pass a fixed
/// sequence; the running key uses the system's CSPRNG.
public protocol RandomSource {
    func bytes(_ count: Int) -> [UInt8]
}

/// The system generator (`getrandom` on Linux), which is cryptographically
/// secure.
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<max(count, 0)).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
