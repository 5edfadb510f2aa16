import Foundation
import OATH
import TestSupport
import Testing

/// A temporary HOME whose latchkey uses a fresh swtpm of its own.
final class TPMHome {
    let home: TestHome
    var tpm: SoftwareTPM

    init() throws {
        try requireBinary()
        home = try TestHome()
        tpm = try SoftwareTPM()
    }

    var accountFile: String { home.vaultDirectory + "/tpm-accounts.json" }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        try home.run(
            arguments, stdin: stdin, passphrase: .some(nil), environment: ["LATCHKEY_TPM_TCTI": tpm.tcti].merging(environment) { $1 },
            sourceLocation: sourceLocation)
    }

    /// `accounts add NAME --tpm` with the secret on stdin; must succeed.
    func add(_ name: String, secret: [UInt8], flags: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        home.forbid(secret: secret)
        let result = try run(["accounts", "add", name, "--tpm"] + flags, stdin: Base32.encode(secret) + "\n", sourceLocation: sourceLocation)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("Added '"), "\(result)", sourceLocation: sourceLocation)
    }

    /// The saved account list, as JSON.
    func savedAccounts() throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(readBytes(accountFile))) as? [String: Any]
        return try #require(object?["accounts"] as? [[String: Any]])
    }
}

@Suite("TPM accounts on a real (software) TPM: swtpm, tpm2-tools, oathtool")
struct TPMTests {
    @Test(
        "TOTP codes made by the TPM are oathtool's: SHA-1/6/30, SHA-256/8, SHA-512/6, a 60 s period",
        arguments: [(OATHAlgorithm.sha1, 6, 30), (.sha256, 8, 30), (.sha512, 6, 30), (.sha1, 6, 60)])
    func totpMatchesOathtool(algorithm: OATHAlgorithm, digits: Int, period: Int) throws {
        let tpm = try TPMHome()
        let secret = randomSecret(algorithm == .sha512 ? 64 : 20)
        var flags = ["--algorithm", algorithm.rawValue, "--digits", String(digits)]
        if period != 30 { flags += ["--period", String(period)] }
        try tpm.add("alice", secret: secret, flags: flags)
        try expectTOTP(secret, algorithm: algorithm, digits: digits, period: period) { try tpm.run(["code", "alice", "--tpm"]) }
    }

    @Test("A seed longer than the hash's block (hashed first, as HMAC does) still gives oathtool's codes")
    func longSeed() throws {
        let tpm = try TPMHome()
        let secret = randomSecret(200)
        try tpm.add("long", secret: secret, flags: ["--algorithm", "SHA256"])
        try expectTOTP(secret, algorithm: .sha256) { try tpm.run(["code", "long", "--tpm"]) }
    }

    @Test("HOTP: each code is oathtool's at the next counter, and the advanced counter is in the file once the code is out")
    func hotpAdvances() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("door", secret: secret, flags: ["--hotp", "--counter", "5"])
        for counter: UInt64 in 5...7 {
            let result = try tpm.run(["code", "door", "--tpm"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout == (try oathtool(secret, counter: counter)) + "\n", "\(result)")
            #expect(try tpm.savedAccounts().first?["counter"] as? Int == Int(counter) + 1)
        }
    }

    @Test(
        "tpm2-tools loads latchkey's saved blobs under its own primary (same template: the default plus noda; ECC P-256, and RSA-2048 with LATCHKEY_TPM_PRIMARY=rsa2048) and tpm2_hmac gives the same HMAC",
        arguments: ["ecc", "rsa2048"])
    func tpm2ToolsCrossCheck(primary: String) throws {
        let tpm = try TPMHome()
        let secret = randomSecret(32)
        let added = try tpm.home.run(
            ["accounts", "add", "cross", "--tpm", "--algorithm", "SHA256"], stdin: Base32.encode(secret) + "\n", passphrase: .some(nil),
            environment: ["LATCHKEY_TPM_TCTI": tpm.tpm.tcti, "LATCHKEY_TPM_PRIMARY": primary])
        #expect(added.status == 0, "\(added)")
        let saved = try #require(try tpm.savedAccounts().first)
        let work = try TemporaryDirectory("tpm2-tools")
        try writeBytes(work.file("key.pub"), Array(try #require(Data(base64Encoded: saved["public"] as? String ?? ""))))
        try writeBytes(work.file("key.priv"), Array(try #require(Data(base64Encoded: saved["private"] as? String ?? ""))))
        let message: [UInt8] = [0, 0, 0, 0, 0x03, 0x5B, 0x2A, 0x11]
        try writeBytes(work.file("message"), message)

        // swtpm has no resource manager: flush each tool's transient objects.
        func tool(_ name: String, _ arguments: [String]) throws -> ProcessResult {
            let result = try runProgram(
                "/usr/bin/\(name)", arguments, environment: ["TPM2TOOLS_TCTI": tpm.tpm.tcti, "TSS2_LOG": "all+NONE"], timeout: 30)
            #expect(result.status == 0, "\(name): \(result)")
            return result
        }
        let attributes = "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt"
        _ = try tool("tpm2_createprimary", ["-Q", "-C", "o", "-g", "sha256", "-G", primary, "-a", attributes, "-c", work.file("primary.ctx")])
        _ = try tool("tpm2_flushcontext", ["-t"])
        _ = try tool("tpm2_load", ["-Q", "-C", work.file("primary.ctx"), "-u", work.file("key.pub"), "-r", work.file("key.priv"), "-c", work.file("key.ctx")])
        _ = try tool("tpm2_flushcontext", ["-t"])
        _ = try tool("tpm2_hmac", ["-c", work.file("key.ctx"), "-g", "sha256", "-o", work.file("mac"), work.file("message")])
        #expect(try readBytes(work.file("mac")) == OATHAlgorithm.sha256.hmac(key: secret, message: message))
    }

    @Test("LATCHKEY_TPM_PRIMARY=rsa2048: codes are oathtool's; a key made under one primary does not load under the other (exit 16); a bad value is exit 6")
    func rsaPrimary() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        let rsa = ["LATCHKEY_TPM_PRIMARY": "rsa2048"]
        let added = try tpm.home.run(
            ["accounts", "add", "rsa", "--tpm"], stdin: Base32.encode(secret) + "\n", passphrase: .some(nil),
            environment: ["LATCHKEY_TPM_TCTI": tpm.tpm.tcti].merging(rsa) { $1 })
        #expect(added.status == 0, "\(added)")
        try expectTOTP(secret) { try tpm.run(["code", "rsa", "--tpm"], environment: rsa) }
        let underECC = try tpm.run(["code", "rsa", "--tpm"])
        #expect(underECC.status == 16, "\(underECC)")
        try tpm.add("ecc", secret: randomSecret())
        let underRSA = try tpm.run(["code", "ecc", "--tpm"], environment: rsa)
        #expect(underRSA.status == 16, "\(underRSA)")
        let bad = try tpm.run(["code", "ecc", "--tpm"], environment: ["LATCHKEY_TPM_PRIMARY": "rsa"])
        #expect(bad.status == 6 && bad.errorLine == "latchkey: LATCHKEY_TPM_PRIMARY must be ecc or rsa2048", "\(bad)")
    }

    @Test("The seed is in no file under HOME (raw, base32 in either case, hex), and the account file is 0600 in a 0700 directory")
    func seedNotOnDisk() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("alice", secret: secret)
        try tpm.add("door", secret: secret.reversed(), flags: ["--hotp"])
        #expect(try tpm.run(["code", "door", "--tpm"]).status == 0)
        let b32 = Base32.encode(secret)
        let forms: [[UInt8]] = [secret, secret.reversed(), Array(b32.utf8), Array(b32.lowercased().utf8), Array(hex(secret).utf8),
                                Array(Base32.encode(secret.reversed()).utf8)]
        let files = try #require(FileManager.default.subpathsOfDirectory(atPath: tpm.home.home) as [String]?)
        var checked = 0
        for relative in files {
            let path = tpm.home.home + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let contents = try readBytes(path)
            checked += 1
            for form in forms {
                #expect(contents.firstRange(of: form) == nil, "\(relative) holds the seed")
            }
        }
        #expect(checked >= 1)
        #expect(try FileManager.default.attributesOfItem(atPath: tpm.accountFile)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: tpm.home.vaultDirectory)[.posixPermissions] as? Int == 0o700)
    }

    @Test("The same HOME against a second swtpm with fresh state: exit 16, one line, the account file unchanged; the first TPM still works")
    func otherTPM() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("alice", secret: secret)
        try tpm.add("door", secret: secret, flags: ["--hotp"])
        let before = try readBytes(tpm.accountFile)
        let other = try SoftwareTPM()
        for name in ["alice", "door"] {
            let result = try tpm.run(["code", name, "--tpm"], environment: ["LATCHKEY_TPM_TCTI": other.tcti])
            #expect(result.status == 16, "\(result)")
            #expect(result.errorLine.contains("made by another TPM, or this TPM was cleared"), "\(result)")
        }
        #expect(try readBytes(tpm.accountFile) == before)
        try expectTOTP(secret) { try tpm.run(["code", "alice", "--tpm"]) }
    }

    @Test("No TPM (no such device), and a TPM that went away (swtpm stopped): exit 14, one line, nothing written")
    func noTPM() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        let missing = try tpm.run(
            ["accounts", "add", "alice", "--tpm"], stdin: Base32.encode(secret), environment: ["LATCHKEY_TPM_TCTI": "device:/dev/latchkey-no-tpm"])
        #expect(missing.status == 14, "\(missing)")
        #expect(missing.errorLine == "latchkey: no TPM: /dev/latchkey-no-tpm does not exist (enable the TPM in the firmware or VM settings, or set LATCHKEY_TPM_TCTI)")
        #expect(!FileManager.default.fileExists(atPath: tpm.accountFile))

        try tpm.add("alice", secret: secret)
        let before = try readBytes(tpm.accountFile)
        tpm.tpm.stop()
        let gone = try tpm.run(["code", "alice", "--tpm"])
        #expect(gone.status == 14, "\(gone)")
        #expect(gone.errorLine.hasPrefix("latchkey: cannot reach the TPM through 'swtpm:host=127.0.0.1,port="), "\(gone)")
        #expect(try readBytes(tpm.accountFile) == before)
    }

    @Test("accounts list, rename and delete --tpm work on the file alone; an existing id needs --force")
    func manageAccounts() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("alice", secret: secret, flags: ["--issuer", "AWS"])
        try tpm.add("bob", secret: randomSecret())
        let again = try tpm.run(["accounts", "add", "bob", "--tpm"], stdin: Base32.encode(randomSecret()))
        #expect(again.status == Exit.alreadyExists, "\(again)")
        #expect(try tpm.run(["accounts", "list", "--tpm"]).stdout == "AWS:alice\nbob\n")
        #expect(try tpm.run(["accounts", "rename", "AWS:alice", "carol", "--tpm"]).status == 0)
        #expect(try tpm.run(["accounts", "delete", "bob", "--tpm"]).status == 0)
        #expect(try tpm.run(["accounts", "list", "--tpm"]).stdout == "carol\n")
        try expectTOTP(secret) { try tpm.run(["code", "carol", "--tpm"]) }
    }

    /// An AuthWorld whose MFA seed is in a fresh swtpm and whose profiles say
    /// `latchkey_mfa = tpm`; the environment points latchkey at that TPM.
    static func authWorldWithTPM(environment extra: [String: String] = [:]) throws -> (AuthWorld, SoftwareTPM, [String: String]) {
        let world = try AuthWorld(sealAccount: false)
        let tpm = try SoftwareTPM()
        let environment = ["LATCHKEY_TPM_TCTI": tpm.tcti].merging(extra) { $1 }
        let added = try world.home.run(
            ["accounts", "add", world.device.serial, "--tpm"], stdin: Base32.encode(world.seed) + "\n", passphrase: .some(nil), environment: environment)
        #expect(added.status == 0, "\(added)")
        let config = try String(contentsOfFile: world.configPath, encoding: .utf8)
        try writeBytes(world.configPath, Array(config.replacingOccurrences(of: "latchkey_mfa = sealed", with: "latchkey_mfa = tpm").utf8))
        return (world, tpm, environment)
    }

    @Test("credential-process with latchkey_mfa = tpm: the TPM's code opens the MFA session, then AssumeRole")
    func credentialProcessWithTPM() throws {
        let (world, tpm, environment) = try Self.authWorldWithTPM()
        defer { withExtendedLifetime(tpm) {} }  // swtpm stops when it goes
        let result = try world.run(["credential-process", "--profile", "admin"], environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("{\"Version\":1,\"AccessKeyId\":\"ASIA"), "\(result)")
        let stats = try world.server.stats()
        #expect(stats.mfaAccepted == 1 && stats.count("AssumeRole") == 1, "\(stats)")
    }

    @Test("mfa list: the device's account is in the TPM (tpm yes, sealed no), read from the account list without opening the TPM")
    func mfaListSeesTheTPM() throws {
        let (world, tpm, environment) = try Self.authWorldWithTPM()
        tpm.stop()
        let result = try world.run(["mfa", "list", "--profile", "dev", "--json"], environment: environment)
        #expect(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let devices = try #require(object?["devices"] as? [[String: String]])
        let device = try #require(devices.first { $0["serial"] == world.device.serial }, "\(result)")
        #expect(device["tpm"] == "yes" && device["sealed"] == "no", "\(device)")
    }

    @Test("exec with latchkey_mfa = tpm and a PIN: the command gets the session, never LATCHKEY_TPM_PIN; the PIN opens the key")
    func execWithTPM() throws {
        let (world, tpm, environment) = try Self.authWorldWithTPM(environment: ["LATCHKEY_TPM_PIN": "4711"])
        let saved = String(decoding: try readBytes(world.home.vaultDirectory + "/tpm-accounts.json"), as: UTF8.self)
        #expect(saved.contains("\"pin\" : true"), "the key was made with the PIN: \(saved)")
        let result = try world.run(
            ["exec", "--profile", "dev", "--", "/bin/sh", "-c", "echo \"$AWS_ACCESS_KEY_ID|${LATCHKEY_TPM_PIN-unset}|$LATCHKEY_TPM_TCTI\""],
            environment: environment, isLatchkeyOutput: false)
        #expect(result.status == 0, "\(result)")
        let fields = result.stdout.dropLast().split(separator: "|").map(String.init)
        #expect(fields.count == 3 && fields[0].hasPrefix("ASIA") && fields[1] == "unset" && fields[2] == tpm.tcti, "\(result)")
        #expect(try world.server.stats().mfaAccepted == 1)
    }

    @Test("auth with latchkey_mfa = tpm: the MFA-checking STS server accepts the TPM's code")
    func authWithTPM() throws {
        let (world, tpm, environment) = try Self.authWorldWithTPM()
        defer { withExtendedLifetime(tpm) {} }  // swtpm stops when it goes
        let result = try world.run(["auth", "--profile", "dev"], environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("export AWS_ACCESS_KEY_ID=ASIA"), "\(result)")
        #expect(try world.server.stats().count("GetSessionToken") == 1)
        // No vault was made or asked for.
        #expect(!FileManager.default.fileExists(atPath: world.home.vaultFile))
    }
}

@Suite("mfa enroll --tpm against the MFA-checking STS server")
struct TPMEnrolTests {
    @Test("enroll --tpm: the server accepts the TPM's two codes, the profile gets latchkey_mfa = tpm; a refused enable leaves no TPM account")
    func enrolIntoTheTPM() throws {
        let world = try AuthWorld(sealAccount: false)
        let tpm = try SoftwareTPM()
        let environment = ["LATCHKEY_TPM_TCTI": tpm.tcti]
        try writeBytes(world.configPath, Array("[profile dev]\nregion = eu-west-1\n".utf8))
        let enrolled = try world.run(["mfa", "enroll", "--profile", "dev", "--tpm", "--device-name", "alice-tpm"], environment: environment)
        let serial = "arn:aws:iam::123456789012:mfa/alice-tpm"
        #expect(enrolled.status == 0, "\(enrolled)")
        #expect(enrolled.stdout == serial + "\n", "\(enrolled)")
        #expect(enrolled.stderr.contains("(codes from the TPM)"), "\(enrolled)")
        var stats = try world.server.stats()
        #expect(stats.count("EnableMFADevice") == 1 && stats.virtualDevices == 1, "\(stats)")
        let config = String(decoding: try readBytes(world.configPath), as: UTF8.self)
        #expect(config == "[profile dev]\nregion = eu-west-1\nmfa_serial = \(serial)\nlatchkey_mfa = tpm\n", "\(config)")
        #expect(!FileManager.default.fileExists(atPath: world.home.vaultFile))

        let refused = try world.run(
            ["mfa", "enroll", "--profile", "dev", "--tpm", "--user", "nobody", "--device-name", "alice-two"], environment: environment)
        #expect(refused.status == 20 && refused.stderr.hasSuffix("; the new device was removed\n"), "\(refused)")
        stats = try world.server.stats()
        #expect(stats.virtualDevices == 1 && stats.count("DeleteVirtualMFADevice") == 1, "\(stats)")
        let accounts = try world.run(["accounts", "list", "--tpm"], environment: environment)
        #expect(accounts.stdout == serial + "\n", "\(accounts)")
    }
}

@Suite("TPM PINs: the key's authValue, guarded by the TPM's dictionary-attack lockout")
struct TPMPINTests {
    @Test("A key made with a PIN (LATCHKEY_TPM_PIN) gives codes with the PIN from the variable or --tpm-pin-file, and none without it (exit 15)")
    func pinFromVariableAndFile() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        let pin = "pin-\(UUID().uuidString.prefix(6))"
        tpm.home.forbid(pin)
        tpm.home.forbid(secret: secret)
        let added = try tpm.run(["accounts", "add", "alice", "--tpm"], stdin: Base32.encode(secret), environment: ["LATCHKEY_TPM_PIN": pin])
        #expect(added.status == 0, "\(added)")
        #expect(try tpm.savedAccounts().first?["pin"] as? Bool == true)
        try expectTOTP(secret) { try tpm.run(["code", "alice", "--tpm"], environment: ["LATCHKEY_TPM_PIN": pin]) }
        let file = try tpm.home.file("pin", pin + "\n")
        try expectTOTP(secret) { try tpm.run(["code", "alice", "--tpm", "--tpm-pin-file", file]) }
        let none = try tpm.run(["code", "alice", "--tpm"])
        #expect(none.status == 15, "\(none)")
        #expect(none.errorLine == "latchkey: 'alice' needs its TPM PIN and there is no terminal to ask on: set LATCHKEY_TPM_PIN or pass --tpm-pin-file PATH")
        let missing = try tpm.run(["code", "alice", "--tpm", "--tpm-pin-file", tpm.home.root + "/io/none"])
        #expect(missing.status == 15, "\(missing)")
    }

    @Test("Wrong PINs count down to the TPM's lockout (swtpm: 3 tries, 1000 s), then even the right PIN is refused: exit 15 each time, file unchanged")
    func wrongPINUntilLockout() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("alice", secret: secret, flags: ["--tpm-pin-file", try tpm.home.file("pin", "1234")])
        let before = try readBytes(tpm.accountFile)
        let wrong = ["LATCHKEY_TPM_PIN": "9999"]
        let messages = try (0..<3).map { _ in try tpm.run(["code", "alice", "--tpm"], environment: wrong) }
        #expect(messages.allSatisfy { $0.status == 15 }, "\(messages)")
        #expect(messages.map(\.errorLine) == [
            "latchkey: wrong TPM PIN (2 more wrong tries and the TPM locks out)",
            "latchkey: wrong TPM PIN (1 more wrong try and the TPM locks out)",
            "latchkey: wrong TPM PIN; the TPM is now locked out and allows another try within 1000 s",
        ])
        let locked = try tpm.run(["code", "alice", "--tpm"], environment: ["LATCHKEY_TPM_PIN": "1234"])
        #expect(locked.status == 15, "\(locked)")
        #expect(locked.errorLine.hasPrefix("latchkey: the TPM is locked out after too many wrong PINs; it allows another try within 1000 s"), "\(locked)")
        #expect(try readBytes(tpm.accountFile) == before)
    }

    @Test("A key without a PIN is not stopped by the lockout another key caused (noDA)")
    func noPINKeyIgnoresLockout() throws {
        let tpm = try TPMHome()
        let secret = randomSecret()
        try tpm.add("open", secret: secret)
        try tpm.add("guarded", secret: randomSecret(), flags: ["--tpm-pin-file", try tpm.home.file("pin", "1234")])
        for _ in 0..<4 { _ = try tpm.run(["code", "guarded", "--tpm"], environment: ["LATCHKEY_TPM_PIN": "9999"]) }
        try expectTOTP(secret) { try tpm.run(["code", "open", "--tpm"]) }
    }
}

@Suite("doctor and setup on the TPM")
struct TPMHostTests {
    @Test("doctor: ✓ TPM usable (maker, firmware, TCTI) and ✓ HMAC hashes from swtpm; – on both without a TPM device")
    func doctorSeesTheTPM() throws {
        try requireBinary()
        let home = try TestHome()
        let tpm = try SoftwareTPM()
        let lines = doctorLines(try runDoctor(home: home, root: "/", environment: ["LATCHKEY_TPM_TCTI": tpm.tcti]).stdout)
        let usable = lines.line("TPM 2.0 usable")
        #expect(usable?.symbol == "✓" && usable?.detail.hasPrefix("made by IBM, firmware ") == true, "\(lines)")
        #expect(usable?.detail.hasSuffix(", through \(tpm.tcti)") == true, "\(lines)")
        let hmac = lines.line("TPM HMAC with SHA-1 and SHA-256")
        #expect(hmac?.symbol == "✓" && hmac?.detail == "HMAC with SHA-1, SHA-256, SHA-512", "\(lines)")

        let none = doctorLines(try runDoctor(home: home, root: "/", environment: ["LATCHKEY_TPM_TCTI": "device:/dev/latchkey-no-tpm"]).stdout)
        #expect(none.line("TPM 2.0 usable")?.symbol == "–", "\(none)")
        #expect(none.line("TPM HMAC with SHA-1 and SHA-256")?.symbol == "–", "\(none)")
    }

    @Test(
        "A TPM device of group tss that this user is not in: doctor ✗ with the usermod fix; setup prints the usermod line",
        .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
    func notInTheTPMGroup() throws {
        try requireBinary()
        let home = try TestHome()
        let devices = try TemporaryDirectory("dev")
        chmod(devices.path, 0o755)
        let device = devices.file("tpmrm0")
        try writeBytes(device, [])
        let tss = try #require(getgrnam("tss"), "group tss (Debian's tpm-udev, pulled in by tpm2-tools) is missing")
        chown(device, 0, tss.pointee.gr_gid)
        chmod(device, 0o660)
        let name = try #require(getpwuid(65534).map { String(cString: $0.pointee.pw_name) })

        let result = try runProgram(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", latchkeyBinary, "doctor"],
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm",
                "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1", "LATCHKEY_TPM_TCTI": "device:\(device)",
            ], inheritEnvironment: false, timeout: runTimeout)
        let usable = doctorLines(result.stdout).line("TPM 2.0 usable")
        #expect(usable?.symbol == "✗" && usable?.detail == "\(device) belongs to group tss and \(name) is not in it (in this session)", "\(result)")
        #expect(usable?.fix == "`sudo usermod -aG tss \(name)`, then log in again", "\(result)")

        let setup = try home.run(["setup", "--dry-run"], environment: ["LATCHKEY_TPM_TCTI": "device:\(device)", "SUDO_USER": name])
        #expect(setup.status == 0, "\(setup)")
        #expect(setup.stdout.contains("the TPM \(device) belongs to group tss; for --tpm add each user: `usermod -aG tss \(name)` (it takes effect at their next login)\n"), "\(setup)")
    }
}

@Suite("A damaged TPM account file or blob: one line, an exit code, nothing changed")
struct TPMDamageTests {
    @Test("A truncated, foreign or newer-format account file is exit 4 naming the file, for code, list and add; the file is left as it was")
    func damagedFile() throws {
        let tpm = try TPMHome()
        try tpm.add("alice", secret: randomSecret())
        let good = try readBytes(tpm.accountFile)
        let newer = String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 2")
        let cases: [([UInt8], String)] = [
            (Array(good.prefix(good.count / 2)), "is damaged (not latchkey's TPM account list)"),
            (Array("[profile dev]\n".utf8), "is damaged (not latchkey's TPM account list)"),
            (Array(newer.utf8), "uses format 2, which this latchkey does not know (upgrade latchkey)"),
        ]
        for (bytes, message) in cases {
            try writeBytes(tpm.accountFile, bytes)
            for arguments in [["code", "alice", "--tpm"], ["accounts", "list", "--tpm"]] {
                let result = try tpm.run(arguments)
                #expect(result.status == Exit.vaultDamaged, "\(result)")
                #expect(result.errorLine.hasPrefix("latchkey: \(tpm.accountFile) \(message)"), "\(result)")
            }
            let add = try tpm.run(["accounts", "add", "bob", "--tpm"], stdin: Base32.encode(randomSecret()))
            #expect(add.status == Exit.vaultDamaged, "\(add)")
            #expect(try readBytes(tpm.accountFile) == bytes)
        }
    }

    @Test(
        "A private blob with a flipped byte is refused by the TPM's integrity check (exit 16); a truncated one does not unmarshal (exit 4); one line, file unchanged",
        arguments: [(false, Int32(16)), (true, Int32(4))])
    func tamperedBlob(truncate: Bool, exit: Int32) throws {
        let tpm = try TPMHome()
        try tpm.add("alice", secret: randomSecret())
        var object = try #require(try JSONSerialization.jsonObject(with: Data(readBytes(tpm.accountFile))) as? [String: Any])
        var accounts = try #require(object["accounts"] as? [[String: Any]])
        var blob = try #require(Data(base64Encoded: accounts[0]["private"] as? String ?? ""))
        if truncate { blob = blob.prefix(blob.count - 4) } else { blob[blob.count - 5] ^= 0x01 }
        accounts[0]["private"] = blob.base64EncodedString()
        object["accounts"] = accounts
        let tampered = Array(try JSONSerialization.data(withJSONObject: object))
        try writeBytes(tpm.accountFile, tampered)
        let result = try tpm.run(["code", "alice", "--tpm"])
        #expect(result.status == exit, "\(result)")
        if truncate { #expect(result.errorLine.hasPrefix("latchkey: the account's TPM key blobs are damaged (Tss2_MU_TPM2B_PRIVATE_Unmarshal failed"), "\(result)") }
        #expect(try readBytes(tpm.accountFile) == tampered)
    }
}

extension TPMTests {
    @Test("swtpm killed while latchkey waits on it (stopped with SIGSTOP, then SIGKILL): exit 14, one line, no hang, file unchanged")
    func killedMidCommand() throws {
        let tpm = try TPMHome()
        try tpm.add("door", secret: randomSecret(), flags: ["--hotp"])
        let before = try readBytes(tpm.accountFile)
        tpm.tpm.pause()
        let started = try tpm.home.start(["code", "door", "--tpm"], passphrase: .some(nil), environment: ["LATCHKEY_TPM_TCTI": tpm.tpm.tcti])
        usleep(300_000)  // let it connect and send its first command
        tpm.tpm.kill()
        let result = try started.wait()
        #expect(result.status == 14, "\(result)")
        #expect(result.errorLine.hasPrefix("latchkey: "), "\(result)")
        #expect(try readBytes(tpm.accountFile) == before)
    }
}

extension TPMTests {
    @Test("swtpm stopped (SIGSTOP) and left so: latchkey gives up after its 25 s call limit with one line, exit 14, the HOTP counter unchanged")
    func silentTPM() throws {
        let tpm = try TPMHome()
        try tpm.add("door", secret: randomSecret(), flags: ["--hotp"])
        let before = try readBytes(tpm.accountFile)
        tpm.tpm.pause()
        defer { tpm.tpm.kill() }
        let result = try tpm.run(["code", "door", "--tpm"])
        #expect(result.status == 14 && result.stdout.isEmpty, "\(result)")
        #expect(result.errorLine.hasPrefix("latchkey: the TPM did not answer "), "\(result)")
        #expect(result.errorLine.contains("within 25 s through 'swtpm:host=127.0.0.1"), "\(result)")
        #expect(result.seconds >= 24 && result.seconds < 60, "\(result)")
        #expect(try readBytes(tpm.accountFile) == before)
    }
}

extension TPMDamageTests {
    @Test(
        "tpm2-tss missing (libtss2-esys.so.0 hidden behind /dev/null in a private mount namespace): exit 14, one line naming what to install",
        .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root and unshare"))
    func noTSSLibrary() throws {
        let tpm = try TPMHome()
        try tpm.add("alice", secret: randomSecret())
        let library = "/usr/lib/x86_64-linux-gnu/libtss2-esys.so.0"
        try #require(FileManager.default.fileExists(atPath: library), "libtss2-dev installs \(library)")
        let result = try runProgram(
            "/usr/bin/unshare", ["-m", "/bin/sh", "-c", "mount --bind /dev/null \(library) && exec \"$0\" code alice --tpm", latchkeyBinary],
            environment: ["PATH": "/usr/bin:/bin", "HOME": tpm.home.home, "LATCHKEY_TPM_TCTI": tpm.tpm.tcti], inheritEnvironment: false,
            timeout: runTimeout)
        #expect(result.status == 14, "\(result)")
        #expect(result.stderr == "latchkey: libtss2-esys.so.0 could not be loaded (Debian: sudo apt-get install libtss2-esys-3.0.2-0 libtss2-tctildr0)\n", "\(result)")
        #expect(result.stdout.isEmpty)
    }
}
