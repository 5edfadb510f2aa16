import Foundation
import OATH
import TestSupport
import Testing

/// A user with two MFA devices and a profile without mfa_serial: latchkey
/// uses the device whose account is on the chosen token, and says which
/// devices there are when it cannot tell.
@Suite("Several MFA devices for one user", .serialized)
struct SeveralDevicesTests {
    static let backupSerial = "arn:aws:iam::123456789012:mfa/alice-backup"

    /// alice with two devices, IAM listing the backup first; nothing sealed
    /// yet; profile `pick` has alice's keys, `latchkey_mfa = sealed` and no
    /// mfa_serial.
    static func world() throws -> (AuthWorld, backup: MFASTSServer.MFADevice) {
        var config = MFASTSServer.Config.standard()
        let seed = (0..<20).map { _ in UInt8.random(in: 0...255) }
        let backup = MFASTSServer.MFADevice(serial: backupSerial, seedBase32: Base32.encode(seed))
        config.users[0].mfaDevices.insert(backup, at: 0)
        let world = try AuthWorld(sealAccount: false, config: config)
        world.home.forbid(secret: seed)
        try world.writeConfig(extra: "[profile pick]\nregion = eu-west-1\nlatchkey_mfa = sealed\n")
        try world.writeCredentials(AuthWorld.standardCredentials(world.user).replacingOccurrences(of: "[dev]", with: "[pick]"))
        return (world, backup)
    }

    func seal(_ world: AuthWorld, _ device: MFASTSServer.MFADevice) throws {
        let added = try world.home.run(
            ["accounts", "add", device.serial, "--sealed", "--scrypt-log2n", "10"], stdin: device.seedBase32 + "\n")
        #expect(added.status == 0, "\(added)")
    }

    @Test("the device whose account is in the vault is used, though IAM lists another first; mfa list says which token makes each one's codes")
    func picksTheDeviceOnTheToken() throws {
        let (world, _) = try Self.world()
        let aliceSerial = world.user.mfaDevices[1].serial
        try seal(world, world.user.mfaDevices[1])
        let result = try world.run(["auth", "--profile", "pick", "--format", "json"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("Using the MFA device \(aliceSerial), the one of the 2 IAM lists"), "\(result)")
        let stats = try world.server.stats()
        #expect(stats.mfaAccepted == 1 && stats.mfaRejected == 0, "\(stats)")

        let list = try world.run(["mfa", "list", "--profile", "pick"])
        #expect(list.status == 0, "\(list)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[0].hasPrefix(Self.backupSerial + " ") && lines[0].hasSuffix("codes: none"), "\(list)")
        #expect(lines[1].hasPrefix(aliceSerial + " ") && lines[1].contains("sealed: yes") && lines[1].hasSuffix("codes: sealed"), "\(list)")
    }

    @Test("no device on the token, or both: one line listing the devices and naming mfa_serial, no code sent")
    func noneOrBothOnTheToken() throws {
        let (world, backup) = try Self.world()
        // The vault holds another account only.
        let other = try world.home.run(["accounts", "add", "someone-else", "--sealed", "--scrypt-log2n", "10"], stdin: "JBSWY3DPEHPK3PXP\n")
        #expect(other.status == 0, "\(other)")
        let none = try world.run(["auth", "--profile", "pick"])
        #expect(none.status == 23, "\(none)")
        #expect(none.errorLine.contains("\(Self.backupSerial), \(world.user.mfaDevices[1].serial)") && none.errorLine.contains("none of them")
            && none.errorLine.contains("set mfa_serial in profile 'pick'"), "\(none)")
        try seal(world, backup)
        try seal(world, world.user.mfaDevices[1])
        let both = try world.run(["auth", "--profile", "pick"])
        #expect(both.status == 23 && both.errorLine.contains("accounts for 2 of them") && both.errorLine.contains("mfa_serial"), "\(both)")
        #expect(try world.server.stats().mfaChecks == 0)
    }
}
