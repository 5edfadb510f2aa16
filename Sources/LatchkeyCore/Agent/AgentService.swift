import AgentProtocol
import AWSConfig
import AWSSigning
import CredentialFlow
import SessionCache
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What an agent serves, and how.
public struct AgentSettings: Sendable {
    /// Profiles served besides those with `latchkey_forward = true`.
    public var allowedProfiles: Set<String> = []
    /// MFA devices (serial ARNs) whose codes are served.
    public var allowedSerials: Set<String> = []
    /// How long the vault may stay unlocked after its first unlock, in
    /// seconds; `nil`: it is unlocked for one request at a time.
    public var unlockForSeconds: Int?
    /// Ask the person at the agent's terminal before each request.
    public var confirm = false
    /// How long a `--confirm` question waits for its answer (other requests
    /// wait behind it), then the request is refused.
    public var confirmSeconds = 60
    /// The token for codes and for profiles without `latchkey_mfa`.
    public var token: TokenKind = .yubikey
    public var key = KeySettings()
    public var passphraseFile: String?

    public init() {}
}

/// The laptop's side: answers one request at a time with the whole flow run
/// here (key, vault, cache, lock, spent steps), and sends back only a
/// session or a code. Long-term keys and seeds never leave.
public final class AgentService {
    public let world: World
    public let settings: AgentSettings
    /// The vault kept unlocked under `--unlock-for`, and until when (Unix time).
    private var heldVault: (vault: VaultSession, until: UInt64)?

    public init(world: World, settings: AgentSettings) throws {
        if settings.confirm, !world.prompter.canAsk {
            throw LatchkeyError(.usage, "--confirm needs a terminal to ask on, and this agent has none")
        }
        self.world = world
        self.settings = settings
    }

    /// The answer to `request` from `peer`, and the one-line outcome for the log.
    public func answer(_ request: AgentRequest) -> (reply: AgentReply, outcome: String) {
        dropExpiredVault()
        do {
            switch request {
            case .credentials(let question):
                let session = try credentials(question)
                return (.credentials(session), "ok, expires \(UTCDateTime(secondsSince1970: session.expiration).iso8601)")
            case .code(let serial, let host):
                return (.code(try code(serial: serial, host: host)), "ok")
            }
        } catch {
            let failure = LatchkeyError(mapping: error) ?? LatchkeyError(.failure, "\(error)")
            return (.failure(category: failure.category.rawValue, message: failure.message), "refused: \(failure.message)")
        }
    }

    /// Seconds until the held vault must be wiped, if one is held.
    public var secondsUntilVaultExpiry: UInt64? {
        heldVault.map { $0.until > world.unixTime ? $0.until - world.unixTime : 0 }
    }

    /// Wipes the held vault once its time is up.
    public func dropExpiredVault() {
        if let held = heldVault, world.unixTime >= held.until { heldVault = nil }
    }

    /// Wipes the held vault now (on exit).
    public func dropVault() { heldVault = nil }

    private func credentials(_ question: AgentRequest.CredentialsQuestion) throws -> AgentReply.SessionCredentials {
        try requireForwarded(question.profile)
        try confirm("credentials for profile '\(question.profile)'", host: question.host)
        var request = CredentialRequest()
        request.profile = question.profile
        request.durationSeconds = question.durationSeconds
        request.refresh = question.refresh
        request.key = settings.key
        request.passphraseFile = settings.passphraseFile
        request.fallbackMFASource = MFASource(rawValue: settings.token.rawValue)
        var world = self.world
        world.touchReason = "for \(question.profile), asked by \(question.host)"
        let (session, _) = try CredentialService(world: world).obtain(request, vault: try vault(world))
        // Only sessions cross the socket: a profile whose plan ends in
        // long-term keys (or another tool's keys) is not served.
        guard let token = session.credentials.sessionToken else {
            throw LatchkeyError(
                .agentRefused,
                "profile '\(question.profile)' gives long-term keys, which the agent never sends: give it mfa_serial or a role")
        }
        return AgentReply.SessionCredentials(
            accessKeyID: session.credentials.accessKeyID, secretAccessKey: session.credentials.secretAccessKey, sessionToken: token,
            expiration: session.expiration, arn: session.arn)
    }

    private func code(serial: String, host: String) throws -> String {
        guard settings.allowedSerials.contains(serial) else {
            throw LatchkeyError(.agentRefused, "this agent does not make codes for \(serial) (start it with --allow-code \(serial))")
        }
        try confirm("an MFA code for \(serial)", host: host)
        var world = self.world
        world.touchReason = "for an MFA code, asked by \(host)"
        let token = settings.token.source(in: world, key: settings.key, vault: try vault(world))
        // This machine's record of spent steps: the box and this machine
        // never send AWS the same step.
        return try SpentCodes(cache: try world.sessionCache()).codeAtUnspentStep(
            serial: serial, clock: world.clock, wait: { world.clock.sleep(for: .seconds($0)) },
            code: { try token.mfaCodes(account: nil, serial: serial, at: [$0])[0] })
    }

    /// Refused before any touch unless `--allow` or the profile's
    /// `latchkey_forward = true` names it.
    private func requireForwarded(_ profile: String) throws {
        if settings.allowedProfiles.contains(profile) { return }
        let config = try SharedConfig.load(environment: world.environment)
        if config.profile(named: profile)?.nonEmpty("latchkey_forward")?.lowercased() == "true" { return }
        throw LatchkeyError(
            .agentRefused,
            "this agent does not forward profile '\(profile)' (start it with --allow \(profile), or set latchkey_forward = true in that profile)")
    }

    private func confirm(_ what: String, host: String) throws {
        guard settings.confirm else { return }
        let answer: SecretBytes?
        do {
            answer = try world.prompter.ask("latchkey agent: \(host) asks for \(what). Allow? [y/N] ", withinSeconds: settings.confirmSeconds)
        } catch let error as SystemError where error.errno == Errno(rawValue: ETIMEDOUT) {
            world.prompter.show("(no answer: refused)\n")
            throw LatchkeyError(.agentRefused, "nobody at the agent's machine allowed \(what) within \(settings.confirmSeconds) s")
        }
        let text = answer.map { String(decoding: $0.bytes, as: UTF8.self).lowercased().filter { !$0.isWhitespace } }
        guard text == "y" || text == "yes" else {
            throw LatchkeyError(.agentRefused, "the person at the agent's machine did not allow \(what)")
        }
    }

    /// The vault for one request, or the one held under `--unlock-for`.
    private func vault(_ world: World) throws -> VaultSession {
        if let held = heldVault { return held.vault }
        let vault = try VaultSession(world: world, passphraseFile: settings.passphraseFile)
        if let seconds = settings.unlockForSeconds {
            vault.keepsUnlockedInMemory = true
            heldVault = (vault, world.unixTime + UInt64(seconds))
        }
        return vault
    }
}
