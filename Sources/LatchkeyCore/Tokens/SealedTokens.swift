import OATH
import SealedStore
import SystemSupport

/// The sealed vault's OATH accounts as a token source. Every operation
/// unlocks the vault (scrypt) once, through the run's ``VaultSession``.
public struct SealedTokens: TokenSource {
    public var vault: VaultSession
    public var world: World
    /// The scrypt cost of a vault that `add` creates.
    public var newVaultParameters: KDFParameters

    public init(vault: VaultSession, world: World, newVaultParameters: KDFParameters = .standard) {
        self.vault = vault
        self.world = world
        self.newVaultParameters = newVaultParameters
    }

    public var kind: TokenKind { .sealed }
    public var needs: TokenNeeds { [.unlock] }

    private var place: String { vault.location.file }

    public func list() throws -> (accounts: [TokenAccount], place: String) {
        let credentials = try vault.open().map { SealedAccounts.all(in: $0.contents) } ?? []
        return (credentials.map(TokenAccount.init), place)
    }

    public func add(_ credential: OATHCredential, options: AddOptions) throws -> String {
        let id = credential.id.description
        try vault.update(creatingWith: newVaultParameters) { contents in
            if !options.replace, contents.entry(.oathAccount, named: id) != nil {
                throw LatchkeyError(.alreadyExists, "account '\(id)' already exists; add --force to replace it")
            }
            try contents.upsert(SealedAccounts.entry(for: credential))
        }
        return place
    }

    public func delete(id: String) throws -> String {
        try vault.update(creatingWith: nil) { contents in
            try AccountSelection.requireExact(id, in: SealedAccounts.all(in: contents).map(\.id.description))
            contents.remove(.oathAccount, named: id)
        }
        return place
    }

    public func rename(id: String, to newName: String) throws -> (newID: String, place: String) {
        let newID = try vault.update(creatingWith: nil) { contents in
            let credentials = SealedAccounts.all(in: contents)
            try AccountSelection.requireExact(id, in: credentials.map(\.id.description))
            guard var credential = credentials.first(where: { $0.id.description == id }) else {
                throw LatchkeyError(.accountNotFound, "no account '\(id)'")
            }
            defer { credential.secret.wipe() }
            let renamed = CredentialID(parsing: newName, isTOTP: false)
            credential.issuer = renamed.issuer
            credential.name = renamed.name
            try credential.validate()
            let newID = credential.id.description
            guard contents.entry(.oathAccount, named: newID) == nil else {
                throw LatchkeyError(.alreadyExists, "an account '\(newID)' already exists")
            }
            contents.remove(.oathAccount, named: id)
            try contents.upsert(SealedAccounts.entry(for: credential))
            return newID
        }
        return (newID, place)
    }

    public func code(query: String?) throws -> String {
        guard let unlocked = try vault.open() else {
            throw LatchkeyError(.accountNotFound, "no vault at \(place): add an account first with `latchkey accounts add NAME --sealed`")
        }
        let credentials = SealedAccounts.all(in: unlocked.contents)
        let id = try AccountSelection.select(query, from: credentials.map(\.id.description))
        guard let credential = credentials.first(where: { $0.id.description == id }) else {
            throw LatchkeyError(.accountNotFound, "no account '\(id)'")
        }
        guard case .hotp = credential.kind else { return credential.code(at: world.unixTime) }
        return try nextHOTPCode(id, in: unlocked)
    }

    public func codes(anyOf ids: [String], at times: [UInt64]) throws -> Result<[String], NoSuchAccount> {
        let accounts = SealedAccounts.all(in: try vault.contents())
        let existing = accounts.map(\.id.description)
        guard let id = ids.first(where: existing.contains), let account = accounts.first(where: { $0.id.description == id }) else {
            return .failure(NoSuchAccount(existing: existing, place: "the sealed vault"))
        }
        guard account.kind.isTOTP else { throw LatchkeyError(.invalidInput, "the sealed account '\(id)' is HOTP; AWS MFA needs TOTP") }
        return .success(times.map(account.code(at:)))
    }

    /// The HOTP code at the stored counter, with the counter advanced and
    /// saved (under the lock, re-read) before the code is returned.
    private func nextHOTPCode(_ id: String, in unlocked: UnlockedVault) throws -> String {
        try unlocked.update { contents in
            guard let entry = contents.entry(.oathAccount, named: id),
                var current = SealedAccounts.credential(from: entry),
                case .hotp(let counter) = current.kind
            else { throw LatchkeyError(.accountNotFound, "account '\(id)' was removed meanwhile") }
            defer { current.secret.wipe() }
            let value = current.code(at: 0)
            current.kind = .hotp(counter: counter &+ 1)
            try contents.upsert(SealedAccounts.entry(for: current))
            return value
        }
    }
}
