import Foundation
@testable import LatchkeyCLI
import LatchkeyCore
import STS
import TestWorld
import Testing

/// `mfa enroll --also-reader` refused before anything is created: the
/// option outside --yubikey, and a backup that is the main key itself.
@Suite("mfa enroll --also-reader: refusals before anything is created")
struct EnrolBackupTests {
    @Test("--also-reader with --sealed or --tpm, or empty: usage error 64, no AWS call")
    func onlyWithTheKey() throws {
        let world = try AuthWorld(sealAccount: false)
        for arguments in [["--sealed", "--also-reader", "01"], ["--tpm", "--also-reader", "01"], ["--yubikey", "--also-reader", ""]] {
            let result = try world.run(["mfa", "enroll", "--profile", "dev"] + arguments)
            #expect(result.status == Exit.usage && result.stdout.isEmpty, "\(result)")
            #expect(result.stderr.contains(arguments[2].isEmpty ? "--also-reader needs part of a reader's name" : "--also-reader applies to --yubikey"), "\(result)")
        }
        #expect(try world.server.stats().requests == 0)
    }

    @Test("--also-reader finding the main key again: usage error naming the reader; GetCallerIdentity only, the key untouched")
    func sameKey() throws {
        let world = try TestWorld()
        try world.write(".aws/config", "[profile work]\nregion = us-east-1\n")
        try world.write(".aws/credentials", "[work]\naws_access_key_id = AKIAWORKEXAMPLE01\naws_secret_access_key = work-secret\n")
        let identity =
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
            + "<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>"
            + "</GetCallerIdentityResult></GetCallerIdentityResponse>"
        world.sts.answer("GetCallerIdentity", TransportResponse(status: 200, headers: [], body: Array(identity.utf8)))
        #expect {
            try Latchkey.run(["mfa", "enroll", "--profile", "work", "--yubikey", "--also-reader", "memory"], in: world.world)
        } throws: { error in
            let failure = error as? LatchkeyError
            return failure?.category == .usage
                && failure?.message == "--also-reader found the same key as the main one (Memory Key 00 00): name the backup key's reader, and the main key's with --reader"
        }
        #expect(world.sts.calls.map { $0["Action"] } == ["GetCallerIdentity"])
        #expect(world.key.instructions.filter { $0 == 0x01 }.isEmpty, "no PUT")
        #expect(try world.key.session().list().isEmpty)
    }
}
