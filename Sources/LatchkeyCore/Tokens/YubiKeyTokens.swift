import OATH
import YKOATH
import YubiKey

/// The YubiKey's OATH applet as a token source.
///
/// An exact id costs SELECT + CALCULATE (plus VALIDATE with a password); a
/// partial name costs a LIST as well. `list` costs LIST and CALCULATE ALL,
/// which tells which accounts need a touch without waiting for one.
public struct YubiKeyTokens: TokenSource {
    public var access: KeyAccess

    public init(access: KeyAccess) { self.access = access }

    public var kind: TokenKind { .yubikey }
    public var needs: TokenNeeds { [.touch, .password] }

    public func list() throws -> (accounts: [TokenAccount], place: String) {
        try access.withSession { session, found in
            let credentials = try session.list()
            let results = try session.calculateAll(challenge: OATHSession.challenge(at: access.world.unixTime, period: 30))
            var touch: Set<[UInt8]> = []
            for (id, result) in results { if case .touchRequired = result { touch.insert(id) } }
            let accounts = credentials.map { TokenAccount($0, touch: touch.contains($0.idBytes)) }
                .sorted { $0.id.lowercased() < $1.id.lowercased() }
            return (accounts, "the key in \(found.reader)")
        }
    }

    /// The same kind of access (transport, password sources, the shared
    /// vault) to the key in the reader whose name contains `reader`.
    public func inReader(_ reader: String) -> YubiKeyTokens {
        var other = access
        other.settings.reader = reader
        other.profileReader = nil
        return YubiKeyTokens(access: other)
    }

    /// The reader the key was found in, and its account ids unless the
    /// applet has a password (SELECT, then LIST only without one): nothing
    /// that prompts or waits for a touch.
    public func glance() throws -> (reader: String, accounts: [String]?) {
        try access.withSession(needsAuthentication: false) { session, found in
            (found.reader, session.select.isPasswordProtected ? nil : try session.list().map(\.id))
        }
    }

    public func add(_ credential: OATHCredential, options: AddOptions) throws -> String {
        try access.withSession { session, found in
            if !options.replace, try session.list().contains(where: { $0.idBytes == credential.id.bytes }) {
                throw LatchkeyError(.alreadyExists, "account '\(credential.id)' already exists on the key; add --force to replace it")
            }
            try session.put(credential, requireTouch: options.requireTouch)
            return "the key in \(found.reader)"
        }
    }

    public func delete(id: String) throws -> String {
        try access.withSession { session, found in
            try AccountSelection.requireExact(id, in: try session.list().map(\.id))
            try session.delete(idBytes: Array(id.utf8))
            return "the key in \(found.reader)"
        }
    }

    public func rename(id: String, to newName: String) throws -> (newID: String, place: String) {
        try access.withSession { session, found in
            let listed = try session.list()
            try AccountSelection.requireExact(id, in: listed.map(\.id))
            let isTOTP = listed.first { $0.id == id }?.isTOTP ?? true
            let newID = Self.renamedID(from: id, isTOTP: isTOTP, to: newName)
            guard newID.utf8.count <= CredentialID.maximumLength else { throw OATHCredentialError.idTooLong }
            guard !listed.contains(where: { $0.id == newID }) else {
                throw LatchkeyError(.alreadyExists, "an account '\(newID)' already exists")
            }
            try session.rename(idBytes: Array(id.utf8), to: Array(newID.utf8))
            return (newID, "the key in \(found.reader)")
        }
    }

    public func code(query: String?) throws -> String {
        try access.withSession { session, _ in
            try code(session, exact: query.map { [$0] } ?? [], at: access.world.unixTime) { ids in
                try AccountSelection.select(query, from: ids)
            }
        }
    }

    public func codes(anyOf ids: [String], at times: [UInt64]) throws -> Result<[String], NoSuchAccount> {
        guard let first = times.first else { return .success([]) }
        return try access.withSession { session, _ in
            var chosen = ids.first ?? ""
            do {
                let firstCode = try code(session, exact: Array(ids.prefix(1)), at: first) { existing in
                    guard let id = ids.first(where: existing.contains) else {
                        throw NoSuchAccount(existing: existing, place: "the YubiKey")
                    }
                    chosen = id
                    return id
                }
                return .success(try [firstCode] + times.dropFirst().map { try access.calculate(session, id: chosen, at: $0) })
            } catch let missing as NoSuchAccount {
                return .failure(missing)
            }
        }
    }

    /// "Exact id, else list and choose", in one place: CALCULATE for the
    /// first exact id; when the key has no such account, LIST and let
    /// `choose` pick one of the ids it has.
    private func code(
        _ session: OATHSession, exact: [String], at unixTime: UInt64, choose: ([String]) throws -> String
    ) throws -> String {
        if let id = exact.first {
            do {
                return try access.calculate(session, id: id, at: unixTime)
            } catch OATHSessionError.noSuchCredential {
                // Not an exact id: look it up below.
            }
        }
        let id = try choose(try session.list().map(\.id))
        return try access.calculate(session, id: id, at: unixTime)
    }
}

extension TokenAccount {
    /// A key's LIST does not tell the digits; CALCULATE ALL tells touch.
    init(_ listed: OATHListedCredential, touch: Bool) {
        let parsed = CredentialID(parsing: listed.id, isTOTP: listed.isTOTP)
        id = listed.id
        issuer = parsed.issuer
        name = parsed.name
        type = listed.isTOTP ? "totp" : "hotp"
        algorithm = listed.algorithm?.rawValue ?? "unknown"
        period = parsed.period
        self.touch = touch
        source = TokenKind.yubikey.rawValue
    }
}
