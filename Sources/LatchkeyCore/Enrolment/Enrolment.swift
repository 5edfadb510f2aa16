import AWSConfig
import OATH
import SealedStore
import SessionCache
import STS
import SystemSupport

/// `mfa enroll` as one transaction: CreateVirtualMFADevice → the seed onto
/// a token → two consecutive codes → EnableMFADevice → `mfa_serial` and
/// `latchkey_mfa` in the profile. Any failure after the device exists rolls
/// back what was done (deactivate, delete the device, remove the stored
/// account), and the error says what could not be undone.
public struct Enrolment {
    public var keys: ProfileKeys
    public var token: any TokenSource
    /// The IAM user (nil: the caller).
    public var user: String?
    /// The virtual device's name (nil: the user name).
    public var deviceName: String?
    /// On a key: every code needs a touch.
    public var requireTouch: Bool

    public init(keys: ProfileKeys, token: any TokenSource, user: String?, deviceName: String?, requireTouch: Bool) {
        self.keys = keys
        self.token = token
        self.user = user
        self.deviceName = deviceName
        self.requireTouch = requireTouch
    }

    /// What was enrolled.
    public struct Result: Sendable {
        public var serial: String
        public var userName: String
        public var profile: String
    }

    public func run() throws -> Result {
        let userName = try user ?? keys.callerUserName()
        let sourceName = token.kind.rawValue
        let config = try ProfileConfigFile(world: keys.world, profile: keys.profile)
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
            let codeTimes = try reserveSteps(serial)
            do {
                _ = try token.add(credential, options: AddOptions(replace: false, requireTouch: requireTouch))
            } catch let error as LatchkeyError where error.category == .alreadyExists {
                throw LatchkeyError(.alreadyExists, "account '\(serial)' already exists on \(token.kind.placeName)")
            }
            stored = true
            let codes = try token.mfaCodes(account: serial, serial: serial, at: codeTimes)
            try keys.call("EnableMFADevice") { (iam) throws(STSClientError) in
                try iam.send(MFADeviceCodesRequest(.enable, userName: userName, serialNumber: serial, authenticationCode1: codes[0], authenticationCode2: codes[1]))
            }
            enabled = true
            try config.write(serial: serial, source: sourceName)
        } catch {
            let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "\(error)")
            let cleanup = rollBack(serial: serial, userName: userName, enabled: enabled, stored: stored)
            throw LatchkeyError(failure.category, failure.message + cleanup)
        }
        return Result(serial: serial, userName: userName, profile: keys.profile)
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
    private func rollBack(serial: String, userName: String, enabled: Bool, stored: Bool) -> String {
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
        return problems.isEmpty ? "; the new device was removed" : "; cleaning up failed too: " + problems.joined(separator: "; ")
    }
}
