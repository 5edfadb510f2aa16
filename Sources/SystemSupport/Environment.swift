#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process environment as a value, so commands and tests can pass their own.
public struct Environment: Sendable {
    public var variables: [String: String]

    public init(_ variables: [String: String]) { self.variables = variables }

    /// The environment this process was started with.
    public static var process: Environment {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
            cursor += 1
        }
        return Environment(result)
    }

    /// Only the variables whose names begin with one of `prefixes` (an entry
    /// such as `HOME=` names one variable exactly), for start-up paths that
    /// need a few: the rest are never turned into Swift strings.
    public static func process(keepingPrefixes prefixes: [String]) -> Environment {
        let rawPrefixes = prefixes.map { Array($0.utf8) }
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            cursor += 1
            let keep = rawPrefixes.contains { prefix in
                prefix.indices.allSatisfy { UInt8(bitPattern: entry[$0]) == prefix[$0] }
            }
            guard keep else { continue }
            let pair = String(cString: entry)
            if let eq = pair.firstIndex(of: "=") {
                result[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
            }
        }
        return Environment(result)
    }

    public subscript(name: String) -> String? {
        get { variables[name] }
        set { variables[name] = newValue }
    }

    /// A variable's value when it is set and not empty.
    public func nonEmpty(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// `$HOME`, or the passwd entry's home directory when `HOME` is unset.
    public var homeDirectory: String? {
        if let home = nonEmpty("HOME") { return home }
        guard let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// An XDG base directory: the variable when it holds an absolute path
    /// (relative values are ignored, as the XDG spec requires), else
    /// `$HOME/<fallback>`.
    public func xdgDirectory(_ variable: String, fallback: String) -> String? {
        if let value = nonEmpty(variable), value.hasPrefix("/") { return value }
        guard let home = homeDirectory else { return nil }
        return home + "/" + fallback
    }
}

extension Environment {
    /// Whether `name` is one of latchkey's own secret variables
    /// (`LATCHKEY_PASSPHRASE`, `LATCHKEY_OATH_PASSWORD`, a later
    /// `LATCHKEY_TPM_PIN`, …): never handed to another program.
    public static func isLatchkeySecret(_ name: String) -> Bool {
        guard name.hasPrefix("LATCHKEY_") else { return false }
        return ["PASSPHRASE", "PASSWORD", "PIN", "SECRET"].contains { name.contains($0) }
    }

    /// This environment as a child of latchkey's gets it: without
    /// latchkey's secret variables.
    public var forChild: Environment {
        Environment(variables.filter { !Environment.isLatchkeySecret($0.key) })
    }
}

/// This machine's name (`gethostname`), as a client names itself to the
/// agent; "unknown" when it has none.
public func currentHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return name.isEmpty ? "unknown" : name
}
