import AWSConfig
import ArgumentParser
import OATH
import SealedStore
import SessionCache
import STS
import SystemSupport
import YKOATH

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `latchkey mfa enroll`: a new virtual MFA device whose seed goes straight
/// onto the YubiKey or into the sealed vault, enabled for the user and
/// written into the profile.
struct MFAEnroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Create a virtual MFA device, keep its seed on the YubiKey or in the vault, and enable it.",
        discussion: """
            Steps: GetCallerIdentity (the user defaults to the caller),
            CreateVirtualMFADevice (named after the user unless --device-name), the seed
            onto the key (OATH account named by the device ARN: TOTP, SHA1, 6 digits,
            30-second steps; --touch makes each code need a touch) or into the sealed
            vault, two consecutive codes (the current 30-second step and the next: two
            CALCULATEs on the key, so no waiting), EnableMFADevice, and last mfa_serial
            and latchkey_mfa in the profile's section of ~/.aws/config (every other byte
            of the file is kept).

            If any step after CreateVirtualMFADevice fails, the device is deactivated
            (when it was enabled) and deleted, and the stored account removed: nothing
            is left behind. The seed is never printed and never written anywhere but the
            key or the vault. With the `latchkey policy self-manage-mfa` policy, the
            device must be named after the user (the default).

            Examples:
              latchkey mfa enroll --profile dev --yubikey --touch
              latchkey mfa enroll --profile dev --sealed
              latchkey mfa enroll --profile admin-keys --user alice --device-name alice-laptop --sealed
            """)

    @Option(help: ArgumentHelp("The AWS profile whose keys are used and which gets mfa_serial.", valueName: "name"))
    var profile: String?

    @Option(help: ArgumentHelp("The IAM user (default: the caller).", valueName: "name"))
    var user: String?

    @Option(name: .customLong("device-name"), help: ArgumentHelp("The virtual device's name (default: the user name).", valueName: "name"))
    var deviceName: String?

    @Flag(help: "On a YubiKey: require a touch for every code.")
    var touch = false

    @OptionGroup var source: SourceOptions
    @OptionGroup var key: KeyOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var newVault: NewVaultOptions

    func validate() throws {
        if touch, !source.isYubiKey { throw ValidationError("--touch applies to --yubikey") }
    }

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let keys = try ProfileKeys(profile: profile, passphraseFile: passphrase.passphraseFile, context: context)
        let userName = try user ?? keys.callerUserName()
        let sourceName = source.isYubiKey ? "yubikey" : "sealed"
        let config = try ProfileConfigFile(context: context, profile: keys.profile)
        // Refuse what would fail at the very end before anything is created.
        try config.check(serial: "arn:aws:iam::000000000000:mfa/\(deviceName ?? userName)", source: sourceName)

        let device = try keys.call("CreateVirtualMFADevice") { (iam) throws(STSClientError) in
            try iam.createVirtualMFADevice(.init(virtualMFADeviceName: deviceName ?? userName))
        }
        let serial = device.serialNumber
        var stored = false
        var enabled = false
        do {
            var credential = try Self.credential(serial: serial, seed: device.base32Seed)
            defer { credential.secret.wipe() }
            let (first, second) = try store(credential, codeTimes: try Self.reserveSteps(serial, keys: keys, context: context), context: context)
            stored = true
            try keys.call("EnableMFADevice") { (iam) throws(STSClientError) in
                try iam.send(MFADeviceCodesRequest(.enable, userName: userName, serialNumber: serial, authenticationCode1: first, authenticationCode2: second))
            }
            enabled = true
            try config.write(serial: serial, source: sourceName)
        } catch {
            let failure = CLIError(mapping: error) ?? CLIError(.failure, "\(error)")
            let cleanup = rollBack(keys, serial: serial, userName: userName, enabled: enabled, stored: stored, context: context)
            throw CLIError(failure.status, failure.message + cleanup)
        }
        context.standardError("Enabled \(serial) for \(userName) (codes from the \(source.isYubiKey ? "YubiKey" : "sealed vault")); profile '\(keys.profile)' now has mfa_serial and latchkey_mfa = \(sourceName)\n")
        context.standardOutput(serial + "\n")
    }

    /// The account for the device: named by its ARN, TOTP SHA1, 6 digits, 30 s.
    static func credential(serial: String, seed: SecretBytes) throws -> OATHCredential {
        var text = seed.bytes
        defer { text.wipe() }
        let credential = OATHCredential(name: serial, secret: try Base32.decode(String(decoding: text, as: UTF8.self)))
        try credential.validate()
        return credential
    }

    /// The times of the current step and the next, both entered in the
    /// ledger of spent steps (AWS takes each code once), so an `auth` right
    /// after this waits for a step EnableMFADevice did not use.
    static func reserveSteps(_ serial: String, keys: ProfileKeys, context: CommandContext) throws -> [UInt64] {
        let ledger = SpentCodes(cache: keys.supply.cache)
        let now = context.now()
        return try (0..<2).map { _ in try ledger.reserveStep(serial: serial, now: now).codeTime }
    }

    /// Puts the account on the key or in the vault and returns its codes at
    /// `codeTimes` (two consecutive steps).
    private func store(_ credential: OATHCredential, codeTimes: [UInt64], context: CommandContext) throws -> (String, String) {
        let id = credential.id.description
        if source.isYubiKey {
            let access = KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile)
            return try access.withSession { session, _ in
                if try session.list().contains(where: { $0.idBytes == credential.id.bytes }) {
                    throw CLIError(.alreadyExists, "account '\(id)' already exists on the key")
                }
                try session.put(credential, requireTouch: touch)
                let codes = try codeTimes.map { time in
                    try KeyCode.calculate { try session.code(forExactID: id, at: time) }
                }
                return (codes[0], codes[1])
            }
        }
        let location = try context.vaultLocation()
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        try Vault.update(at: location, passphrases: passphrases, creatingWith: newVault.parameters) { contents in
            if contents.entry(.oathAccount, named: id) != nil {
                throw CLIError(.alreadyExists, "account '\(id)' already exists in the sealed vault")
            }
            try contents.upsert(SealedAccounts.entry(for: credential))
        }
        return (credential.code(at: codeTimes[0]), credential.code(at: codeTimes[1]))
    }

    /// Undoes what was done after CreateVirtualMFADevice; says what could
    /// not be undone (to be appended to the error line).
    private func rollBack(
        _ keys: ProfileKeys, serial: String, userName: String, enabled: Bool, stored: Bool, context: CommandContext
    ) -> String {
        var problems: [String] = []
        if enabled {
            do {
                try keys.call("DeactivateMFADevice") { (iam) throws(STSClientError) in
                    try iam.send(MFADeviceRequest.deactivate(userName: userName, serialNumber: serial))
                }
            } catch {
                problems.append("\(error)")
            }
        }
        do {
            try keys.call("DeleteVirtualMFADevice") { (iam) throws(STSClientError) in
                try iam.send(MFADeviceRequest.deleteVirtual(serialNumber: serial))
            }
        } catch {
            problems.append("\(error) (remove it with `aws iam delete-virtual-mfa-device --serial-number \(serial)`)")
        }
        if stored {
            do {
                try removeAccount(serial, context: context)
            } catch {
                problems.append("the account '\(serial)' could not be removed: \(CLIError(mapping: error)?.message ?? "\(error)")")
            }
        }
        return problems.isEmpty ? "; the new device was removed" : "; cleaning up failed too: " + problems.joined(separator: "; ")
    }

    private func removeAccount(_ id: String, context: CommandContext) throws {
        if source.isYubiKey {
            try KeyAccess(options: key, context: context, passphraseFile: passphrase.passphraseFile).withSession { session, _ in
                try session.delete(idBytes: Array(id.utf8))
            }
            return
        }
        let passphrases = CLIPassphrases(environment: context.environment, passphraseFile: passphrase.passphraseFile)
        try Vault.update(at: try context.vaultLocation(), passphrases: passphrases, creatingWith: nil) { contents in
            _ = contents.remove(.oathAccount, named: id)
        }
    }
}

/// The profile's section of `~/.aws/config` (AWS_CONFIG_FILE), rewritten
/// atomically under latchkey's lock with every other byte kept.
struct ProfileConfigFile {
    var path: String
    var profile: String
    var lockDirectory: String

    init(context: CommandContext, profile: String) throws {
        guard let paths = SharedConfigPaths(environment: context.environment),
            let cache = SessionCache.standard(in: context.environment)
        else {
            throw CLIError(.failure, "cannot find the home directory: set HOME or AWS_CONFIG_FILE")
        }
        path = paths.config
        self.profile = profile
        lockDirectory = cache.directory
    }

    private func properties(serial: String, source: String) -> [ConfigFileEditor.Property] {
        [.init("mfa_serial", serial), .init("latchkey_mfa", source)]
    }

    /// The file as it would be written, without writing it.
    private func edited(serial: String, source: String) throws -> [UInt8] {
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK {
            throw CLIError(.invalidInput, "\(path) is a symbolic link; latchkey will not replace it (point AWS_CONFIG_FILE at the real file)")
        }
        let existing = try PrivateFiles.read(path, limit: 4 << 20) ?? []
        do {
            return try ConfigFileEditor.settingProperties(properties(serial: serial, source: source), inProfile: profile, in: existing)
        } catch {
            throw CLIError(.invalidInput, "cannot write profile '\(profile)' to \(path): \(error)")
        }
    }

    func check(serial: String, source: String) throws {
        _ = try edited(serial: serial, source: source)
    }

    func write(serial: String, source: String) throws {
        try PrivateFiles.ensurePrivateDirectory(lockDirectory)
        let lock = try FileLock(exclusive: lockDirectory + "/config-file.lock", timeoutSeconds: 30)
        defer { withExtendedLifetime(lock) {} }
        let updated = try edited(serial: serial, source: source)
        let directory = PrivateFiles.parentDirectory(of: path)
        if !PrivateFiles.exists(directory) { try PrivateFiles.ensurePrivateDirectory(directory) }
        try PrivateFiles.writeAtomically(path, updated)
    }
}
