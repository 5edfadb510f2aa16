import AWSConfig
import OATH
import SealedStore
import SessionCache
import STS
import SystemSupport

/// `mfa enroll` as one transaction: CreateVirtualMFADevice → the seed onto
/// a token (and, with a backup key, onto that key too) → two consecutive
/// codes (and the backup key's code for the first step, which must match) →
/// EnableMFADevice → `mfa_serial` and `latchkey_mfa` in the profile. Any
/// failure after the device exists rolls back what was done (deactivate,
/// delete the device, remove the stored accounts), and the error says what
/// could not be undone.
public struct Enrolment {
    public var keys: ProfileKeys
    public var token: any TokenSource
    /// The IAM user (nil: the caller).
    public var user: String?
    /// The virtual device's name (nil: the user name).
    public var deviceName: String?
    /// On a key: every code needs a touch.
    public var requireTouch: Bool
    /// A second key that gets the same seed and touch policy
    /// (`--also-reader`), so that losing one key is not a lockout; `token`
    /// must then be a key too.
    public var backup: YubiKeyTokens?

    public init(
        keys: ProfileKeys, token: any TokenSource, user: String?, deviceName: String?, requireTouch: Bool,
        backup: YubiKeyTokens? = nil
    ) {
        self.keys = keys
        self.token = token
        self.user = user
        self.deviceName = deviceName
        self.requireTouch = requireTouch
        self.backup = backup
    }

    /// What was enrolled.
    public struct Result: Sendable {
        public var serial: String
        public var userName: String
        public var profile: String
        /// The reader of the backup key that got the same seed, if any.
        public var backupReader: String?
    }

    public func run() throws -> Result {
        // With a backup key the caller's account tells the device's ARN in
        // advance, so both keys are checked before anything is created.
        let caller = backup == nil ? nil : try keys.caller()
        let userName = try user ?? caller?.userName ?? keys.callerUserName()
        let sourceName = token.kind.rawValue
        let config = try ProfileConfigFile(world: keys.world, profile: keys.profile)
        // Refuse what would fail at the very end before anything is created.
        try config.check(serial: "arn:aws:iam::000000000000:mfa/\(deviceName ?? userName)", source: sourceName)
        let expectedSerial = caller.flatMap { Self.expectedSerial(caller: $0.identity.arn, deviceName: deviceName ?? userName) }
        let pair = try backup.map { try KeyPair.check(main: token, backup: $0, expectedSerial: expectedSerial) }

        let device = try keys.call("CreateVirtualMFADevice") { (iam) throws(STSClientError) in
            try iam.createVirtualMFADevice(.init(virtualMFADeviceName: deviceName ?? userName))
        }
        let serial = device.serialNumber
        var stored = false
        var storedOnBackup = false
        var enabled = false
        do {
            var credential = try Self.credential(serial: serial, seed: device.base32Seed)
            defer { credential.secret.wipe() }
            let codeTimes = try reserveSteps(serial)
            let options = AddOptions(replace: false, requireTouch: requireTouch)
            do {
                _ = try token.add(credential, options: options)
            } catch let error as LatchkeyError where error.category == .alreadyExists {
                throw LatchkeyError(.alreadyExists, "account '\(serial)' already exists on \(token.kind.placeName)")
            }
            stored = true
            if let pair {
                try pair.add(credential, options: options)
                storedOnBackup = true
            }
            let codes = try token.mfaCodes(account: serial, serial: serial, at: codeTimes)
            // The backup's code for the first step must be the main key's:
            // checked before AWS has a device that only one key could serve.
            try pair?.verify(serial: serial, at: codeTimes[0], expecting: codes[0])
            try keys.call("EnableMFADevice") { (iam) throws(STSClientError) in
                try iam.send(MFADeviceCodesRequest(.enable, userName: userName, serialNumber: serial, authenticationCode1: codes[0], authenticationCode2: codes[1]))
            }
            enabled = true
            try config.write(serial: serial, source: sourceName)
        } catch {
            let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "\(error)")
            let cleanup = rollBack(serial: serial, userName: userName, enabled: enabled, stored: stored, backup: storedOnBackup ? pair : nil)
            throw LatchkeyError(failure.category, failure.message + cleanup)
        }
        return Result(serial: serial, userName: userName, profile: keys.profile, backupReader: pair?.backupReader)
    }

    /// The ARN CreateVirtualMFADevice will give a device of this name (path
    /// `/`) in the caller's account, for checking the keys before it exists.
    static func expectedSerial(caller: String, deviceName: String) -> String? {
        guard let arn = ARN(caller) else { return nil }
        return "arn:\(arn.partition):iam::\(arn.account):mfa/\(deviceName)"
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
    func reserveSteps(_ serial: String) throws -> [UInt64] {
        let ledger = SpentCodes(cache: keys.setup.cache)
        let now = keys.world.unixTime
        return try (0..<2).map { _ in try ledger.reserveStep(serial: serial, now: now).codeTime }
    }

    /// Undoes what was done after CreateVirtualMFADevice; says what could
    /// not be undone (to be appended to the error line).
    private func rollBack(serial: String, userName: String, enabled: Bool, stored: Bool, backup: KeyPair?) -> String {
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
                _ = try token.delete(id: serial)
            } catch {
                problems.append("the account '\(serial)' could not be removed: \(LatchkeyError(mapping: error)?.message ?? "\(error)")")
            }
        }
        if let backup {
            do {
                _ = try backup.backup.delete(id: serial)
            } catch {
                problems.append("the account '\(serial)' could not be removed from the backup key in \(backup.backupReader): \(LatchkeyError(mapping: error)?.message ?? "\(error)")")
            }
        }
        return problems.isEmpty ? "; the new device was removed" : "; cleaning up failed too: " + problems.joined(separator: "; ")
    }
}
