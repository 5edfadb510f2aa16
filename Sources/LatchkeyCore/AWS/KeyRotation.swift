import AWSConfig
import AWSSigning
import CredentialFlow
import FoundationEssentials
import SealedStore
import SessionCache
import STS
import SystemSupport

/// `keys rotate`: a profile's long-term access key replaced by a new one,
/// stored where the old one was, and the old one deleted.
///
/// 1. One MFA session made with the stored key (the cached one when it is
///    fresh, else one code: one touch), when the profile's chain uses MFA;
///    without MFA anywhere, the key itself signs.
/// 2. ListAccessKeys: a user who already has two keys (IAM's limit) gets an
///    error here, before anything changes.
/// 3. The journal (``RotationJournal``) records the rotation, then
///    CreateAccessKey, then the new key replaces the old one in the vault or
///    in the shared file (every other byte kept), then the journal records
///    the new key id.
/// 4. The cached sessions made with the old key are dropped.
/// 5. The new key is used: GetCallerIdentity signed with it, retried while
///    IAM does not know it yet (InvalidClientTokenId, every 2 s for 30 s),
///    then DeleteAccessKey of the old key signed with it. A policy that
///    denies that without MFA (AccessDenied) gets the same call signed with
///    the MFA session of step 1: no second code, so no TOTP step is ever
///    spent twice.
/// 6. The journal entry goes.
///
/// A crash leaves a journal entry that the next `rotate` of the profile
/// acts on first: before the new key was stored, a key CreateAccessKey made
/// after the journal's time is deleted (its secret was never kept) and the
/// rotation starts again; after it was stored, the old key is deleted and
/// the rotation is finished.
public struct KeyRotation {
    public var world: World
    /// The profile, and how to make the MFA code (source, key, passphrase).
    public var request: CredentialRequest
    /// How long to wait for IAM to know a new key: this many tries…
    public var propagationAttempts = 16
    /// …this far apart.
    public var propagationDelay: Duration = .seconds(2)

    public init(world: World, request: CredentialRequest) {
        self.world = world
        self.request = request
    }

    public struct Result: Sendable, Equatable {
        /// Where the key is kept: "sealed for profile 'dev'", "[dev] in /home/…/credentials".
        public var place: String
        public var userName: String
        public var oldKeyID: String
        public var newKeyID: String
        /// An interrupted rotation was finished instead of a new one made.
        public var finishedInterrupted: Bool
        /// What was cleaned up from an interrupted run, for the person.
        public var notes: [String]
        public var droppedSessions: Int
    }

    public func run() throws -> Result {
        let service = CredentialService(world: world)
        let setup = try service.setup(profile: request.profile, durationSeconds: nil)
        guard let source = setup.plan.step.rootKeys else {
            throw LatchkeyError(.noCredentials, "profile '\(setup.plan.profile)' has no long-term keys to rotate (its credentials come from another program or an agent)")
        }
        let vault = try VaultSession(world: world, passphraseFile: request.passphraseFile)
        let place = try StoredKey(source: source, config: setup.config, world: world, vault: vault, cache: setup.cache)
        let journal = try RotationJournal(world: world)
        return try journal.whileLocked {
            let stored = try LongTermKeys(config: setup.config, environment: world.environment, vault: vault).credentials(for: source)
            // Named in every call: IAM defaults to the caller, but not every
            // IAM-speaking server does (moto).
            let userName = try ProfileKeys(world: world, setup: setup, credentials: stored).callerUserName()
            let session = try mfaSession(setup: setup, source: source, stored: stored, userName: userName, vault: vault)
            let signer = session?.credentials ?? stored
            let iam = ProfileKeys(world: world, setup: setup, credentials: signer)
            var listed = try iam.call("ListAccessKeys") { (iam) throws(STSClientError) in try iam.listAccessKeys(userName: userName) }
            var notes: [String] = []
            if let entry = try journal.entry(for: place.name) {
                if let new = entry.newKeyID, new != stored.accessKeyID {
                    throw LatchkeyError(.failure, "an interrupted rotation replaced \(entry.oldKeyID) with \(new), but \(place.description) now holds \(stored.accessKeyID): check the user's keys (`aws iam list-access-keys`) and remove \(journal.path)")
                }
                if entry.oldKeyID != stored.accessKeyID {
                    return try finish(entry, stored: stored, session: session, listed: listed, setup: setup, place: place, journal: journal, userName: userName)
                }
                notes += try removeOrphans(of: entry, listed: listed, iam: iam, userName: userName)
                try journal.remove(place.name)
                listed = try iam.call("ListAccessKeys") { (iam) throws(STSClientError) in try iam.listAccessKeys(userName: userName) }
            }
            guard listed.keys.contains(where: { $0.accessKeyID == stored.accessKeyID }) else {
                throw LatchkeyError(.awsRefused, "IAM lists no access key \(stored.accessKeyID) for \(userName): \(place.description) holds a key of another user or a deleted one; nothing was changed")
            }
            let others = listed.keys.filter { $0.accessKeyID != stored.accessKeyID }
            if !others.isEmpty {
                let ids = others.map(\.accessKeyID).joined(separator: ", ")
                throw LatchkeyError(.alreadyExists, "\(userName) already has two access keys (\(stored.accessKeyID) and \(ids)), the most IAM allows: delete the one not in use (`aws iam delete-access-key --user-name \(userName) --access-key-id \(others[0].accessKeyID)`) and run rotate again; nothing was changed")
            }

            let dropping = service.cacheKeys(usingKey: stored.accessKeyID, config: setup.config)
            var entry = RotationJournal.Entry(profile: place.name, oldKeyID: stored.accessKeyID, newKeyID: nil, started: Int64(world.unixTime))
            try journal.record(entry)
            let created: CreateAccessKeyResult
            do {
                created = try iam.call("CreateAccessKey") { (iam) throws(STSClientError) in try iam.createAccessKey(userName: userName) }
            } catch {
                try? journal.remove(place.name)
                throw error
            }
            let new = AWSCredentials(accessKeyID: created.key.accessKeyID, secretAccessKey: String(decoding: created.secretAccessKey.bytes, as: UTF8.self))
            do {
                try place.replace(old: stored.accessKeyID, with: created)
            } catch {
                throw undoCreate(created.key.accessKeyID, storing: error, iam: iam, userName: userName, journal: journal, place: place)
            }
            // The same entry, now naming the stored key; `started` stays the
            // rotation's start (an orphan is judged against it).
            entry.newKeyID = new.accessKeyID
            try journal.record(entry)
            let dropped = dropping.filter { (try? setup.cache.remove($0)) == true }.count
            try deleteOldKey(stored.accessKeyID, newKey: new, session: session, setup: setup, place: place, userName: userName)
            try journal.remove(place.name)
            return Result(
                place: place.description, userName: userName, oldKeyID: stored.accessKeyID, newKeyID: new.accessKeyID,
                finishedInterrupted: false, notes: notes, droppedSessions: dropped)
        }
    }

    /// The session IAM calls that need MFA are signed with: the profile's
    /// own when it is an MFA session, else one from GetSessionToken with the
    /// MFA device the chain names (for a role profile, the role's); `nil`
    /// when the chain uses no MFA, or names no device and IAM lists none.
    func mfaSession(
        setup: CredentialService.Setup, source: LongTermKeySource, stored: AWSCredentials, userName: String, vault: VaultSession
    ) throws -> CachedSession? {
        var mfa: MFAUse?
        var current: CredentialStep? = setup.plan.step
        var step: CredentialStep?
        while let this = current {
            switch this {
            case .sessionToken(_, let use, _):
                step = this
                mfa = use
                current = nil
            case .assumeRole(let inner, _, let use):
                if let use { mfa = use }
                current = inner
            case .longTerm, .process, .agent:
                current = nil
            }
        }
        guard let mfa else { return nil }
        if mfa.device == .discover {
            // No mfa_serial: a user without any MFA device has only the key to sign with.
            let keys = ProfileKeys(world: world, setup: setup, credentials: stored)
            if try keys.call("ListMFADevices", { (iam) throws(STSClientError) in try iam.allMFADevices(userName: userName) }).isEmpty { return nil }
        }
        var plan = setup.plan
        plan.step = step ?? .sessionToken(source, mfa: mfa, durationSeconds: 3600)
        return try CredentialService(world: world).credentials(for: plan, setup: setup, request: request, vault: vault)
    }

    /// Deletes what an interrupted rotation created but never stored: keys
    /// made no earlier than its journal entry (a minute of clock slack).
    private func removeOrphans(of entry: RotationJournal.Entry, listed: ListAccessKeysResult, iam: ProfileKeys, userName: String) throws -> [String] {
        let since = Date(timeIntervalSince1970: TimeInterval(entry.started - 60))
        return try listed.keys.filter { $0.accessKeyID != entry.oldKeyID && ($0.createDate ?? .distantPast) >= since }.map { orphan in
            try iam.call("DeleteAccessKey") { (iam) throws(STSClientError) in try iam.deleteAccessKey(orphan.accessKeyID, userName: userName) }
            return "deleted \(orphan.accessKeyID), which an interrupted rotation created but never stored"
        }
    }

    /// The rest of an interrupted rotation whose new key was stored: the old
    /// key deleted (if it is still there), the journal entry removed.
    private func finish(
        _ entry: RotationJournal.Entry, stored: AWSCredentials, session: CachedSession?, listed: ListAccessKeysResult,
        setup: CredentialService.Setup, place: StoredKey, journal: RotationJournal, userName: String
    ) throws -> Result {
        var notes: [String] = []
        if listed.keys.contains(where: { $0.accessKeyID == entry.oldKeyID }) {
            try deleteOldKey(entry.oldKeyID, newKey: stored, session: session, setup: setup, place: place, userName: userName)
        } else {
            notes.append("\(entry.oldKeyID) was already deleted")
        }
        try journal.remove(place.name)
        return Result(
            place: place.description, userName: userName, oldKeyID: entry.oldKeyID, newKeyID: stored.accessKeyID,
            finishedInterrupted: true, notes: notes, droppedSessions: 0)
    }

    /// The new key proves itself, then deletes the old one (see the type's
    /// steps 5). A failure keeps the journal entry and says how to finish.
    private func deleteOldKey(
        _ old: String, newKey: AWSCredentials, session: CachedSession?, setup: CredentialService.Setup, place: StoredKey, userName: String
    ) throws {
        let withNewKey = ProfileKeys(world: world, setup: setup, credentials: newKey)
        do {
            _ = try untilKnown("GetCallerIdentity") { () throws(STSClientError) in try withNewKey.sts.getCallerIdentity() }
            do {
                try untilKnown("DeleteAccessKey") { () throws(STSClientError) in try withNewKey.iam.deleteAccessKey(old, userName: userName) }
            } catch .service(let refusal) where refusal.kind == .accessDenied && session != nil {
                try ProfileKeys(world: world, setup: setup, credentials: session!.credentials).iam.deleteAccessKey(old, userName: userName)
            }
        } catch {
            let failure = LatchkeyError(call: "DeleteAccessKey", error)
            throw LatchkeyError(
                failure.category,
                "\(failure.message); the new key \(newKey.accessKeyID) is stored (\(place.description)) but the old key \(old) is still active: run `latchkey keys rotate \(place.name)` again to delete it, or `aws iam delete-access-key --user-name \(userName) --access-key-id \(old)`")
        }
    }

    /// Runs `body` again while IAM does not know the new key yet.
    private func untilKnown<T>(_ call: String, _ body: () throws(STSClientError) -> T) throws(STSClientError) -> T {
        var attempt = 1
        while true {
            do {
                return try body()
            } catch .service(let error) where error.kind == .invalidClientTokenID && attempt < propagationAttempts {
                attempt += 1
                world.clock.sleep(for: propagationDelay)
            }
        }
    }

    /// The new key could not be stored: it is deleted again, so the user is
    /// left as before (with the error saying so, or what is left to do).
    private func undoCreate(
        _ id: String, storing error: any Error, iam: ProfileKeys, userName: String, journal: RotationJournal, place: StoredKey
    ) -> LatchkeyError {
        let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "\(error)")
        do {
            try iam.call("DeleteAccessKey") { (iam) throws(STSClientError) in try iam.deleteAccessKey(id, userName: userName) }
            try? journal.remove(place.name)
            return LatchkeyError(failure.category, "\(failure.message); the new key \(id) was deleted again and the old one is unchanged")
        } catch {
            return LatchkeyError(failure.category, "\(failure.message); the new key \(id) could not be deleted again (\(LatchkeyError(mapping: error)?.message ?? "\(error)")): `latchkey keys rotate \(place.name)` deletes it")
        }
    }
}

/// Where a profile's long-term key is kept, and how it is replaced there.
struct StoredKey {
    enum Kind {
        case sealed
        /// In the credentials or the config file, at `path`; rewritten under
        /// that file's lock, the one `auth --write-profile` (credentials) and
        /// `mfa enroll` (config) take too.
        case sharedFile(SharedFileLock.File, path: String)
    }

    /// The profile that holds the key (the chain's source profile).
    var name: String
    var kind: Kind
    var world: World
    var vault: VaultSession
    var cache: SessionCache

    init(source: LongTermKeySource, config: SharedConfig, world: World, vault: VaultSession, cache: SessionCache) throws {
        self.world = world
        self.vault = vault
        self.cache = cache
        switch source {
        case .sealed(let profile, _):
            name = profile
            kind = .sealed
        case .sharedFile(let profile, let id):
            guard let paths = SharedConfigPaths(environment: world.environment) else {
                throw LatchkeyError(.failure, "cannot find the home directory: set HOME or AWS_SHARED_CREDENTIALS_FILE")
            }
            name = profile
            kind = config.credentialsFileProfiles[profile]?.nonEmpty("aws_access_key_id") == id
                ? .sharedFile(.credentials, path: paths.credentials) : .sharedFile(.config, path: paths.config)
        case .environment:
            throw LatchkeyError(.invalidInput, "the keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which latchkey cannot change: rotate them where they are kept")
        }
    }

    var description: String {
        switch kind {
        case .sealed: "sealed for profile '\(name)'"
        case .sharedFile(_, let path): "[\(name)] in \(path)"
        }
    }

    /// Puts `created` where `old` was; refuses when `old` is no longer there
    /// (something else changed the key meanwhile).
    func replace(old: String, with created: CreateAccessKeyResult) throws {
        let id = created.key.accessKeyID
        switch kind {
        case .sealed:
            guard SealedAWSKey.isValidAccessKeyID(id) else {
                throw LatchkeyError(.awsRefused, "CreateAccessKey: IAM answered an access key id that is not of upper-case letters and digits")
            }
            let location = vault.location
            try vault.update(creatingWith: nil) { contents in
                guard let entry = contents.entry(.awsAccessKey, named: name), SealedAWSKey(entry)?.accessKeyID == old else {
                    throw LatchkeyError(.failure, "the key sealed for profile '\(name)' changed during the rotation")
                }
                try contents.upsert(SealedAWSKey(profile: name, accessKeyID: id, secretAccessKey: created.secretAccessKey).entry)
                try SealedKeyIndex.rewrite(from: contents, at: location)
            }
        case .sharedFile(let file, let path):
            let lock = try SharedFileLock.hold(file, in: cache)
            defer { withExtendedLifetime(lock) {} }
            var existing = try PrivateFiles.read(path, limit: 4 << 20, followLinks: true) ?? []
            defer { existing.wipe() }
            let properties = [
                CredentialsFileEditor.Property("aws_access_key_id", id),
                CredentialsFileEditor.Property("aws_secret_access_key", String(decoding: created.secretAccessKey.bytes, as: UTF8.self)),
            ]
            var updated: [UInt8]
            do {
                if file == .credentials {
                    let current = try SharedConfig.parse(config: nil, configPath: "", credentials: existing, credentialsPath: path)
                    guard current.credentialsFileProfiles[name]?.nonEmpty("aws_access_key_id") == old else {
                        throw LatchkeyError(.failure, "[\(name)] in \(path) changed during the rotation")
                    }
                    updated = try CredentialsFileEditor.settingProperties(properties, inSection: name, in: existing)
                } else {
                    let current = try SharedConfig.parse(config: existing, configPath: path, credentials: nil, credentialsPath: "")
                    guard current.configFileProfiles[name]?.nonEmpty("aws_access_key_id") == old else {
                        throw LatchkeyError(.failure, "profile '\(name)' in \(path) changed during the rotation")
                    }
                    updated = try ConfigFileEditor.settingProperties(properties, inProfile: name, in: existing)
                }
            } catch let error as CredentialsFileEditor.EditError {
                throw LatchkeyError(.failure, "cannot write the new key into \(path): \(error)")
            }
            defer { updated.wipe() }
            try PrivateFiles.writeAtomically(path, updated)
        }
    }
}

/// Rotations under way, one entry per profile, in `key-rotation.json` beside
/// the vault (0600, replaced atomically). Every rotation holds
/// `key-rotation.lock` from start to end, so two cannot interleave.
struct RotationJournal {
    struct Entry: Codable, Equatable {
        var profile: String
        var oldKeyID: String
        /// Set once the new key is stored.
        var newKeyID: String?
        /// Unix seconds when the rotation began.
        var started: Int64
    }

    private struct File: Codable {
        var v = 1
        var rotations: [Entry]
    }

    let directory: String
    var path: String { directory + "/key-rotation.json" }

    init(world: World) throws {
        directory = try world.vaultLocation().directory
    }

    func whileLocked<T>(_ body: () throws -> T) throws -> T {
        try PrivateFiles.ensurePrivateDirectory(directory)
        let lock = try FileLock(exclusive: directory + "/key-rotation.lock", timeoutSeconds: 60, purpose: "rotating an access key")
        return try withExtendedLifetime(lock) { try body() }
    }

    func entry(for profile: String) throws -> Entry? {
        try entries().first { $0.profile == profile }
    }

    func record(_ entry: Entry) throws {
        try write(entries().filter { $0.profile != entry.profile } + [entry])
    }

    func remove(_ profile: String) throws {
        try write(entries().filter { $0.profile != profile })
    }

    private func entries() throws -> [Entry] {
        guard let bytes = try PrivateFiles.read(path, limit: 1 << 20) else { return [] }
        do {
            return try JSONDecoder().decode(File.self, from: Data(bytes)).rotations
        } catch {
            throw LatchkeyError(.failure, "\(path) is damaged (it is not a rotation journal latchkey wrote); check your access keys with `aws iam list-access-keys`, then remove it")
        }
    }

    private func write(_ entries: [Entry]) throws {
        if entries.isEmpty {
            _ = try PrivateFiles.remove(path)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try PrivateFiles.writeAtomically(path, Array(try encoder.encode(File(rotations: entries))))
    }
}
