import CredentialFlow
import STS
import SystemSupport

/// MFA codes for the broker: from `--mfa-code`, the source chosen by flag
/// or by the profile's `latchkey_mfa` (a token: the key or the vault), or
/// the person.
struct MFACodes: MFACodeSource {
    var request: CredentialRequest
    var world: World
    var vault: VaultSession

    func source(for use: MFAUse) throws -> MFASource {
        if request.mfaCode != nil { return .prompt }
        if let chosen = request.mfaSource { return chosen }
        guard let preferred = use.preferredSource else { return request.fallbackMFASource ?? .prompt }
        return try MFASource(profile: use.profile, setting: preferred)
    }

    /// A code from the agent counts as typed here: the agent chose its
    /// step against its machine's record, and this machine's record of sent
    /// codes still refuses one sent twice.
    func makesCodes(for use: MFAUse) -> Bool {
        (try? source(for: use)).map { $0 != .prompt && $0 != .agent } ?? false
    }

    /// The token that makes codes for `use`, or `nil` when they are typed.
    func token(for use: MFAUse) throws -> (any TokenSource)? {
        let kind: TokenKind? = switch try source(for: use) {
        case .yubikey: .yubikey
        case .sealed: .sealed
        case .tpm: .tpm
        case .prompt, .agent: nil
        }
        return kind?.source(in: world, key: request.key, vault: vault, profileReader: use.reader, tpm: request.tpm)
    }

    func code(for use: MFAUse, serial: String, at unixTime: UInt64) throws -> String {
        guard let token = try token(for: use) else { return try typedCode(for: use, serial: serial) }
        return try token.mfaCodes(account: use.oathAccount, serial: serial, at: [unixTime])[0]
    }

    /// The devices whose account (by the names ``AWSAccountNames`` gives a
    /// serial) is on the token that makes `use`'s codes: listed once, no
    /// touch. `nil` when codes are typed, or the profile names one account
    /// for any device (`latchkey_oath_account`), which says nothing about
    /// which device it belongs to.
    func serialsOnToken(_ serials: [String], for use: MFAUse) throws -> [String]? {
        guard use.oathAccount == nil, let token = try token(for: use) else { return nil }
        if let sealed = token as? SealedTokens, !sealed.vault.exists { return [] }
        let ids = Set(try token.list().accounts.filter { $0.type == "totp" }.map(\.id))
        return serials.filter { serial in AWSAccountNames.candidates(account: nil, serial: serial).contains(where: ids.contains) }
    }

    func typedCode(for use: MFAUse, serial: String) throws -> String {
        if let code = request.mfaCode { return code }
        if try source(for: use) == .agent { return try AgentClient(world: world).code(serial: serial) }
        guard let line = try world.prompter.ask("MFA code for \(serial): ", secret: false) else {
            throw LatchkeyError(.noPassphrase, "an MFA code for \(serial) is needed and there is no terminal to ask on: pass --yubikey, --sealed, --tpm or --mfa-code, or set latchkey_mfa in profile '\(use.profile)'")
        }
        return String(decoding: line.bytes, as: UTF8.self).filter { !$0.isWhitespace }
    }

    /// Counts down for the person; without one it waits silently, since
    /// stderr is for the one error line (an SDK shows a credential process's
    /// stderr only when it fails).
    func wait(seconds: UInt64, serial: String) {
        var left = seconds
        while left > 0 {
            world.prompter.show("\r\u{1B}[KThe current code was already used; next code in \(left) s…")
            world.clock.sleep(for: .seconds(1))
            left -= 1
        }
        world.prompter.show("\r\u{1B}[K")
    }
}

/// The names an AWS virtual MFA device may have as an OATH account: the one
/// the profile names (or the serial ARN), then what the AWS console's QR code
/// names it: `Amazon Web Services:USER@ACCOUNT`.
public enum AWSAccountNames {
    public static func candidates(account: String?, serial: String) -> [String] {
        var names = [account ?? serial]
        if account == nil, let arn = ARN(serial), let user = arn.iamName(ofType: "mfa") {
            names.append("Amazon Web Services:\(user)@\(arn.account)")
            names.append("\(user)@\(arn.account)")
        }
        return names
    }
}
