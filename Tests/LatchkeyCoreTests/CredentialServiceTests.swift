import AWSSigning
import OATH
import SealedStore
import SystemSupport
import TestWorld
import Testing
import YKOATH

@testable import LatchkeyCore

/// The cold path in-process: a profile, the key (or the vault) for the MFA
/// code, a scripted STS. No pcscd, no network, no subprocess.
@Suite("CredentialService in-process: the cold path, the warm path, one unlock per run")
struct CredentialServiceTests {
    static let seed = Array("12345678901234567890".utf8)
    static let serial = "arn:aws:iam::123456789012:mfa/alice"

    static func world(source: String) throws -> TestWorld {
        let world = try TestWorld()
        try world.write(
            ".aws/config",
            """
            [profile work]
            region = us-east-1
            mfa_serial = \(serial)
            latchkey_mfa = \(source)

            """)
        try world.write(".aws/credentials", "[work]\naws_access_key_id = AKIAWORKEXAMPLE01\naws_secret_access_key = work-secret\n")
        world.sts.answer("GetSessionToken", ScriptedHTTP.sessionToken(keyID: "ASIAFROMSTS", expiration: world.clock.unixTime + 43_200))
        return world
    }

    static var request: CredentialRequest {
        var request = CredentialRequest()
        request.profile = "work"
        return request
    }

    @Test("obtain: the key's code for the profile's device goes to GetSessionToken, signed at the world's clock; the next call is served from the cache")
    func coldThenWarm() throws {
        let world = try Self.world(source: "yubikey")
        try world.key.session().put(OATHCredential(name: Self.serial, secret: Self.seed))
        let (session, setup) = try CredentialService(world: world.world).obtain(Self.request)
        #expect(session.credentials.accessKeyID == "ASIAFROMSTS")
        #expect(setup.plan.profile == "work")
        let call = try #require(world.sts.calls.first)
        #expect(call["Action"] == "GetSessionToken")
        #expect(call["SerialNumber"] == Self.serial)
        #expect(call["TokenCode"] == OATHCredential(name: Self.serial, secret: Self.seed).code(at: world.clock.unixTime))
        #expect(call["X-Amz-Date"] == UTCDateTime(secondsSince1970: Int64(world.clock.unixTime)).amzDate)
        #expect(world.key.calculateCount == 1)

        // Warm: the same request from the cache, no key, no STS.
        let warm = CredentialService.cachedSession(
            for: Self.request, environment: world.world.environment, unixTime: world.clock.unixTime + 60)
        #expect(warm?.credentials.accessKeyID == "ASIAFROMSTS")
        #expect(try CredentialService(world: world.world).obtain(Self.request).session == session)
        #expect(world.sts.calls.count == 1)
        #expect(world.key.calculateCount == 1)
        // --refresh is never answered from the cache.
        var refresh = Self.request
        refresh.refresh = true
        #expect(CredentialService.cachedSession(for: refresh, environment: world.world.environment, unixTime: world.clock.unixTime) == nil)
    }

    @Test("obtain with a sealed MFA account: the vault's code, and the passphrase asked once")
    func sealedCode() throws {
        let world = try Self.world(source: "sealed")
        world.person.present = true
        world.person.answers = ["pw", "pw", "pw"]
        let vault = try VaultSession(world: world.world, passphraseFile: nil)
        try vault.update(creatingWith: KDFParameters(log2N: 10, r: 8, p: 1)) { contents in
            try contents.upsert(SealedAccounts.entry(for: OATHCredential(name: Self.serial, secret: Self.seed)))
        }
        let asked = world.person.questions.count
        _ = try CredentialService(world: world.world).obtain(Self.request)
        #expect(world.person.questions.count == asked + 1)
        #expect(world.sts.calls.first?["TokenCode"] == OATHCredential(name: Self.serial, secret: Self.seed).code(at: world.clock.unixTime))
    }

    @Test("Sealed AWS keys and a remembered OATH password in one run cost one vault unlock (one passphrase question)")
    func oneUnlock() throws {
        let world = try Self.world(source: "yubikey")
        try world.write(".aws/credentials", "")
        world.person.present = true
        world.person.answers = ["pw", "pw", "pw", "pw"]
        // The key has a password; its access key is remembered in the vault,
        // and the profile's long-term keys are sealed there too.
        let session = try world.key.session()
        try session.put(OATHCredential(name: Self.serial, secret: Self.seed))
        let accessKey = try OATHSession.deriveAccessKey(password: Array("hunter2".utf8), salt: session.select.salt)
        try session.setAccessKey(accessKey)
        let setupVault = try VaultSession(world: world.world, passphraseFile: nil)
        try setupVault.update(creatingWith: KDFParameters(log2N: 10, r: 8, p: 1)) { contents in
            let key = SealedAWSKey(profile: "work", accessKeyID: "AKIASEALEDEXAMPLE", secretAccessKey: SecretBytes(Array("sealed-secret".utf8)))
            try contents.upsert(key.entry)
            try SealedKeyIndex.rewrite(from: contents, at: setupVault.location)
        }
        try RememberedKeys(vault: setupVault).remember(accessKey, deviceID: session.select.deviceID)
        let before = world.person.questions.count

        let (result, setup) = try CredentialService(world: world.world).obtain(Self.request)
        #expect(result.credentials.accessKeyID == "ASIAFROMSTS")
        #expect(setup.plan.step.rootKeys?.accessKeyID == "AKIASEALEDEXAMPLE")
        #expect(world.person.questions.count == before + 1, "questions: \(world.person.questions)")
    }

    @Test("A profile with no code source and nobody to ask fails at once with noPassphrase, naming the ways to give one")
    func nobodyToAsk() throws {
        let world = try Self.world(source: "prompt")
        let error = #expect(throws: LatchkeyError.self) { try CredentialService(world: world.world).obtain(Self.request) }
        #expect(error?.category == .noPassphrase)
        #expect(error?.message.contains("--mfa-code") == true)
        #expect(world.sts.calls.isEmpty)
    }
}
