import OATH

/// The main key and the backup key of `mfa enroll --yubikey --also-reader`:
/// two different keys, each found once before the device is created, that
/// get the same account.
struct KeyPair {
    var main: YubiKeyTokens
    var backup: YubiKeyTokens
    var mainReader: String
    var backupReader: String

    /// Finds both keys (SELECT and, without an OATH password, LIST: no
    /// touch, no prompt) before anything is created: they must be two keys,
    /// and neither may have an account named `expectedSerial` already.
    static func check(main token: any TokenSource, backup: YubiKeyTokens, expectedSerial: String?) throws -> KeyPair {
        guard let main = token as? YubiKeyTokens else {
            throw LatchkeyError(.usage, "--also-reader applies to --yubikey")
        }
        let first = try main.glance()
        let second: (reader: String, accounts: [String]?)
        do {
            second = try backup.glance()
        } catch {
            throw Self.failure(error, on: "the backup key (--also-reader)")
        }
        guard first.reader != second.reader else {
            throw LatchkeyError(
                .usage, "--also-reader found the same key as the main one (\(first.reader)): name the backup key's reader, and the main key's with --reader")
        }
        if let expectedSerial {
            for (reader, accounts) in [first, second] where accounts?.contains(expectedSerial) == true {
                throw LatchkeyError(.alreadyExists, "account '\(expectedSerial)' already exists on the key in \(reader)")
            }
        }
        return KeyPair(main: main, backup: backup, mainReader: first.reader, backupReader: second.reader)
    }

    /// Puts `credential` on the backup key, with the main key's options.
    func add(_ credential: OATHCredential, options: AddOptions) throws {
        do {
            _ = try backup.add(credential, options: options)
        } catch let error as LatchkeyError where error.category == .alreadyExists {
            throw LatchkeyError(.alreadyExists, "account '\(credential.id)' already exists on the backup key in \(backupReader)")
        } catch {
            throw Self.failure(error, on: "the backup key in \(backupReader)")
        }
    }

    /// One CALCULATE on the backup key (a touch, when the account needs
    /// one) for the step at `time`: its code must be `expected`, the main
    /// key's for that step.
    func verify(serial: String, at time: UInt64, expecting expected: String) throws {
        var backup = backup
        backup.access.world.touchReason = "in \(backupReader) (the backup key)"
        let code: [String]
        do {
            code = try backup.mfaCodes(account: serial, serial: serial, at: [time])
        } catch {
            throw Self.failure(error, on: "the backup key in \(backupReader)")
        }
        guard code == [expected] else {
            throw LatchkeyError(.failure, "the backup key in \(backupReader) gives another code than the key in \(mainReader) for the same step")
        }
    }

    /// `error` as one line that says it happened on `place`, its category kept.
    private static func failure(_ error: any Error, on place: String) -> LatchkeyError {
        let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "\(error)")
        return LatchkeyError(failure.category, "\(place): \(failure.message)")
    }
}
