/// An endpoint URL as a user may configure one:
///
///     scheme://host[:port][/path]       scheme is http or https
///
/// `host` is a DNS name, an IPv4 address or a bracketed IPv6 address. User
/// info (`user:pass@`), a query and a fragment are refused: none belongs in
/// an endpoint, and user info would be a credential.
public struct EndpointURL: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// `http` or `https`, lower-case.
    public var scheme: String
    /// As written (lower-cased), IPv6 addresses with their brackets.
    public var host: String
    /// Only when written explicitly.
    public var port: Int?
    /// `/` when the URL has none.
    public var path: String

    /// A URL from its parts, taken as given (no checks).
    public init(scheme: String, host: String, port: Int? = nil, path: String = "/") {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `text`; `nil` when it is not an acceptable endpoint URL.
    public init?(_ text: String) {
        var rest = Substring(text)
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let scheme = lowercasedKey(String(rest[..<colon]))
        guard scheme == "http" || scheme == "https" else { return nil }
        rest = rest[rest.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        rest = rest.dropFirst(2)

        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        guard !path.contains("?"), !path.contains("#"), !authority.contains("@") else { return nil }
        guard path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else { return nil }

        var host = authority
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let inside = authority[authority.index(after: authority.startIndex)..<close]
            guard !inside.isEmpty,
                inside.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit || $0 == ":" || $0 == "." })
            else { return nil }
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.first == ":", let number = Self.port(afterHost.dropFirst()) else { return nil }
                port = number
            }
        } else {
            if let portColon = authority.lastIndex(of: ":") {
                host = authority[..<portColon]
                guard let number = Self.port(authority[authority.index(after: portColon)...]) else { return nil }
                port = number
            }
            guard !host.isEmpty,
                host.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || $0 == "-" || $0 == "." || $0 == "_"
                })
            else { return nil }
        }
        self.scheme = scheme
        self.host = lowercasedKey(String(host))
        self.port = port
        self.path = path.isEmpty ? "/" : String(path)
    }

    private static func port(_ digits: Substring) -> Int? {
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = Int(digits), (1...65535).contains(value)
        else { return nil }
        return value
    }

    /// The `Host` header: the host, plus the port when it is not the
    /// scheme's default.
    public var hostHeader: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    /// Whether requests go in clear beyond this machine: plain `http` to a
    /// host that is not loopback (`localhost`, 127.0.0.0/8, `[::1]`).
    public var isCleartextBeyondLoopback: Bool {
        guard scheme == "http" else { return false }
        if host == "localhost" || host.hasSuffix(".localhost") || host == "[::1]" { return false }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopbackIPv4 = octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
        return !isLoopbackIPv4
    }

    /// `scheme://host[:port]/path`.
    public var description: String {
        scheme + "://" + host + (port.map { ":\($0)" } ?? "") + path
    }
}
