import Foundation
import OATH
import Testing

/// `latchkey mfa resync` against latchkey's MFA STS server, which checks
/// that the two codes belong to consecutive steps of the device's seed.
@Suite("mfa resync against the MFA-checking server", .serialized)
struct MFAResyncTests {
    @Test("resync --sealed sends two consecutive codes of the sealed seed for the profile's device; the server accepts them")
    func resyncSealed() throws {
        let world = try AuthWorld()
        let result = try world.run(["mfa", "resync", "--profile", "dev", "--sealed"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr == "Resynchronised \(world.device.serial) for alice\n", "\(result)")
        let stats = try world.server.stats()
        #expect(stats.count("ResyncMFADevice") == 1 && stats.count("GetCallerIdentity") == 1, "\(stats)")
    }

    @Test("codes from the wrong seed are refused by AWS (exit 20, one line); a profile without mfa_serial needs --serial")
    func refusals() throws {
        let world = try AuthWorld(sealAccount: false)
        try world.home.add(world.device.serial, secret: randomSecret())
        let wrong = try world.run(["mfa", "resync", "--profile", "dev", "--sealed", "--user", "alice"])
        #expect(wrong.status == 20, "\(wrong)")
        #expect(wrong.errorLine.hasPrefix("latchkey: ResyncMFADevice: AWS InvalidAuthenticationCode"), "\(wrong)")

        try world.writeConfig(extra: "[profile bare]\nregion = eu-west-1\n")
        try world.writeCredentials(AuthWorld.standardCredentials(world.user) + "[bare]\naws_access_key_id = \(world.user.accessKeyID)\naws_secret_access_key = \(world.user.secretAccessKey)\n")
        let bare = try world.run(["mfa", "resync", "--profile", "bare", "--sealed"])
        #expect(bare.status == 23, "\(bare)")
        #expect(bare.errorLine.contains("--serial"), "\(bare)")
    }
}
