import OATH

/// Turns a name into one id, or an error that lists the candidates.
public enum AccountSelection {
    public static func select(_ query: String?, from ids: [String]) throws -> String {
        switch CredentialMatch.select(query, from: ids) {
        case .found(let id):
            return id
        case .none(let candidates):
            if candidates.isEmpty { throw LatchkeyError(.accountNotFound, "there are no accounts yet: add one with `latchkey accounts add NAME`") }
            throw LatchkeyError(.accountNotFound, "no account matches '\(query ?? "")'; accounts: \(candidates.joined(separator: ", "))")
        case .ambiguous(let matches):
            let what = query.map { "'\($0)' matches" } ?? "there are"
            throw LatchkeyError(.accountNotFound, "\(what) several accounts, name one: \(matches.joined(separator: ", "))")
        }
    }

    /// For commands that cannot be undone: `name` must be an exact id. A
    /// partial match is named in the error but not acted on.
    public static func requireExact(_ name: String, in ids: [String]) throws {
        if ids.contains(name) { return }
        if case .found(let id) = CredentialMatch.select(name, from: ids) {
            throw LatchkeyError(.accountNotFound, "no account has the id '\(name)'; did you mean '\(id)'? (this needs the exact id)")
        }
        _ = try select(name, from: ids)
        throw LatchkeyError(.accountNotFound, "no account has the id '\(name)'")
    }
}
