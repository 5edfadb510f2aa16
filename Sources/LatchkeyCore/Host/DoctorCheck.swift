/// One finding of `latchkey doctor`.
///
/// Encodes as `{"name", "status", "detail", "fix"}` (`fix` is `null` when
/// there is none); `title` is for the text output only.
public struct DoctorCheck: Encodable, Equatable {
    public enum Status: String, Encodable {
        /// The check was performed and passed.
        case ok
        /// The check was performed and found a problem; `fix` says what to do.
        case fail
        /// Worth knowing, but nothing is broken (or the check could not reach
        /// what it needed, such as STS, and nothing else needs it).
        case warn
        /// Not performed: what it needs is missing (for instance pcscd for the
        /// reader checks). `detail` says why; never shown as passed.
        case skip

        public var symbol: String {
            switch self {
            case .ok: "✓"
            case .fail: "✗"
            case .warn: "⚠"
            case .skip: "–"
            }
        }
    }

    /// A stable identifier for scripts, e.g. `pcscd`, `clock`.
    public var name: String
    /// What was checked, in words, e.g. "pcscd reachable".
    public var title: String
    public var status: Status
    public var detail: String
    public var fix: String?

    public static func ok(_ name: String, _ title: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, title: title, status: .ok, detail: detail)
    }

    public static func fail(_ name: String, _ title: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, title: title, status: .fail, detail: detail, fix: fix)
    }

    public static func warn(_ name: String, _ title: String, _ detail: String, fix: String? = nil) -> DoctorCheck {
        DoctorCheck(name: name, title: title, status: .warn, detail: detail, fix: fix)
    }

    public static func skip(_ name: String, _ title: String, because reason: String) -> DoctorCheck {
        DoctorCheck(name: name, title: title, status: .skip, detail: "not checked: \(reason)")
    }

    private enum CodingKeys: String, CodingKey { case name, status, detail, fix }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(status, forKey: .status)
        try container.encode(detail, forKey: .detail)
        if let fix { try container.encode(fix, forKey: .fix) } else { try container.encodeNil(forKey: .fix) }
    }

    /// The text form: the symbol, title and detail on one line, and the fix
    /// (for a failure or warning that has one) indented on the next.
    public var text: String {
        var lines = "\(status.symbol) \(title): \(detail)\n"
        if let fix, status == .fail || status == .warn { lines += "    fix: \(fix)\n" }
        return lines
    }
}
