import AWSConfig
import AWSSigning
import FoundationEssentials
import STS
import SessionCache
import SystemSupport

/// Makes MFA codes for the broker.
public protocol MFACodeSource {
    /// Whether latchkey makes the codes for `use` itself (a YubiKey, the
    /// vault) and so can choose their time step; otherwise they are typed.
    func makesCodes(for use: MFAUse) -> Bool
    /// The code for `serial` at Unix time `unixTime`.
    func code(for use: MFAUse, serial: String, at unixTime: UInt64) throws -> String
    /// A code a person types, or one given with `--mfa-code`.
    func typedCode(for use: MFAUse, serial: String) throws -> String
    /// Waits `seconds` for the next time step (a countdown on a terminal).
    func wait(seconds: UInt64, serial: String)
    /// Which of `serials` (the user's MFA devices) have their account on the
    /// token that makes codes for `use`; `nil` when codes are typed.
    func serialsOnToken(_ serials: [String], for use: MFAUse) throws -> [String]?
}

extension MFACodeSource {
    public func serialsOnToken(_ serials: [String], for use: MFAUse) throws -> [String]? { nil }
}

/// Sessions made somewhere else: a latchkey agent on another machine.
public protocol RemoteCredentialSource {
    func credentials(profile: String, durationSeconds: Int?, refresh: Bool) throws -> CachedSession
}

/// Supplies long-term secrets when a call needs them (from the vault, the
/// shared files or the environment).
public protocol LongTermKeyStore {
    func credentials(for source: LongTermKeySource) throws -> AWSCredentials
}

/// Runs a plan: reuses cached sessions, makes MFA codes (one use each),
/// and calls STS, holding each cache entry's lock while it fills it so that
/// concurrent callers share one code, one touch and one STS call.
public struct CredentialBroker {
    public var cache: SessionCache
    public var spentCodes: SpentCodes
    public var transport: any HTTPTransport
    public var codes: any MFACodeSource
    public var keys: any LongTermKeyStore
    /// Where `.agent` steps get their sessions.
    public var remote: (any RemoteCredentialSource)?
    public var environment: Environment
    /// The one clock: TOTP steps, cache expiry, and the SigV4 dates of every call.
    public var clock: any RequestClock
    /// Ignore cached sessions (still writes the new ones).
    public var refresh = false
    /// Notes for the person (stderr): discovered devices, waits.
    public var note: (String) -> Void = { _ in }
    public var retryDelay: Duration = .seconds(1)
    /// The notes already given: a reason to ignore the cache, or a warning
    /// about an endpoint, is said once.
    private let saidOnce = SaidOnce()

    public init(
        cache: SessionCache, transport: any HTTPTransport, codes: any MFACodeSource, keys: any LongTermKeyStore,
        environment: Environment, clock: any RequestClock
    ) {
        self.cache = cache
        self.spentCodes = SpentCodes(cache: cache)
        self.transport = transport
        self.codes = codes
        self.keys = keys
        self.environment = environment
        self.clock = clock
    }

    /// Seconds since the Unix epoch, from ``clock``.
    func now() -> UInt64 { clock.unixTime }

    /// The profile's temporary credentials, cached or new.
    public func credentials(for plan: CredentialPlan) throws -> CachedSession {
        try obtain(plan.step, plan)
    }

    private func obtain(_ step: CredentialStep, _ plan: CredentialPlan) throws -> CachedSession {
        switch step {
        case .longTerm(let source):
            return CachedSession(credentials: try keys.credentials(for: source), expiration: Int64.max)
        case .process(let profile, let command):
            return try CredentialProcessRunner(environment: environment).run(command, profile: profile)
        case .sessionToken, .assumeRole, .agent:
            guard let key = plan.cacheKey(for: step) else { preconditionFailure("STS steps have cache keys") }
            if !refresh, let session = cache.fresh(key, now: Int64(now()), note: { saidOnce.say($0, through: note) }) {
                return session
            }
            return try cache.withLock(key, purpose: Self.lockPurpose(step)) {
                // Another process may have filled the entry while this one waited.
                if !refresh, let session = cache.fresh(key, now: Int64(now())) { return session }
                let session = try call(step, plan)
                // The code is spent and STS has answered: a cache that cannot
                // be written (a full disk) must not cost the caller the session.
                do {
                    try cache.write(session, for: key)
                } catch {
                    note("latchkey: the new session could not be cached (\(error)); the next call will need a new MFA code\n")
                }
                return session
            }
        }
    }

    private func call(_ step: CredentialStep, _ plan: CredentialPlan) throws -> CachedSession {
        switch step {
        case .sessionToken(let source, let mfa, let duration):
            let longTerm = try keys.credentials(for: source)
            let serial = try serialNumber(for: mfa, credentials: longTerm, plan)
            let code = try mfaCode(for: mfa, serial: serial)
            let result: GetSessionTokenResult
            do {
                result = try sts(longTerm, plan).getSessionToken(
                    GetSessionTokenRequest(durationSeconds: duration, serialNumber: serial, tokenCode: code))
            } catch {
                throw CredentialFlowError.aws(call: "GetSessionToken", error)
            }
            return CachedSession(result.credentials, mfaSerial: serial)

        case .assumeRole(let sourceStep, let role, let mfa):
            var source = try obtain(sourceStep, plan)
            var request = AssumeRoleRequest(
                roleARN: role.roleARN, roleSessionName: role.sessionName, durationSeconds: role.durationSeconds,
                externalID: role.externalID, sourceIdentity: role.sourceIdentity)
            if let mfa {
                let serial = try serialNumber(for: mfa, credentials: source.credentials, plan)
                request.serialNumber = serial
                request.tokenCode = try mfaCode(for: mfa, serial: serial)
            }
            do {
                let result = try sts(source.credentials, plan).assumeRole(request)
                return CachedSession(result.credentials, arn: result.assumedRoleUser.arn, mfaSerial: request.serialNumber)
            } catch let error where Self.isStaleSession(error) && mfa == nil && plan.cacheKey(for: sourceStep) != nil {
                // The cached source session was revoked or has expired early:
                // drop it, make a new one, and try once more.
                if let key = plan.cacheKey(for: sourceStep) { try cache.remove(key) }
                source = try obtain(sourceStep, plan)
                do {
                    let result = try sts(source.credentials, plan).assumeRole(request)
                    return CachedSession(result.credentials, arn: result.assumedRoleUser.arn, mfaSerial: nil)
                } catch {
                    throw CredentialFlowError.aws(call: "AssumeRole", error)
                }
            } catch {
                throw CredentialFlowError.aws(call: "AssumeRole", error)
            }

        case .agent(let profile, let duration):
            guard let remote else { throw CredentialFlowError.invalidProfile(profile, "no latchkey agent to ask") }
            return try remote.credentials(profile: profile, durationSeconds: duration, refresh: refresh)

        case .longTerm, .process:
            return try obtain(step, plan)
        }
    }

    /// One line (once) when an MFA code or a session is about to travel in
    /// clear: plain http to a host other than this machine.
    private func warnIfCleartext(_ service: String, _ endpoint: ServiceEndpoint) {
        guard endpoint.url.isCleartextBeyondLoopback else { return }
        saidOnce.say(
            "latchkey: warning: the \(service) endpoint \(endpoint.url) (\(endpoint.source)) is plain http to another machine: MFA codes and sessions travel in clear\n",
            through: note)
    }

    /// What the holder of a cache entry's lock waits for, in the lock file
    /// for the message of a caller that gives up waiting.
    static func lockPurpose(_ step: CredentialStep) -> String {
        switch step {
        case .agent(let profile, _):
            "latchkey waiting for the latchkey agent (a touch on its machine) for profile '\(profile)'"
        case .sessionToken(_, let mfa, _):
            "latchkey waiting for an MFA code (a touch, a typed code or the vault's passphrase) from profile '\(mfa.profile)', then STS"
        case .assumeRole(_, let role, let mfa?):
            "latchkey waiting for an MFA code from profile '\(mfa.profile)', then STS AssumeRole \(role.roleARN)"
        case .assumeRole(_, let role, nil):
            "latchkey waiting for STS AssumeRole \(role.roleARN)"
        case .longTerm, .process:
            "latchkey waiting for STS"
        }
    }

    static func isStaleSession(_ error: STSClientError) -> Bool {
        guard let kind = error.serviceError?.kind else { return false }
        return kind == .expiredToken || kind == .invalidClientTokenID
    }

    /// The device's serial: from the profile, else the caller's only device,
    /// else the only one of the caller's devices whose account is on the
    /// token that makes the codes.
    private func serialNumber(for mfa: MFAUse, credentials: AWSCredentials, _ plan: CredentialPlan) throws -> String {
        if case .serial(let serial) = mfa.device { return serial }
        let identity: CallerIdentity
        let devices: [MFADevice]
        do {
            identity = try sts(credentials, plan).getCallerIdentity()
        } catch {
            throw CredentialFlowError.aws(call: "GetCallerIdentity", error)
        }
        // ListMFADevices without UserName means the caller; name the user
        // explicitly anyway (moto, for one, needs it).
        let userName = Self.userName(fromARN: identity.arn)
        do {
            warnIfCleartext("IAM", plan.iam)
            devices = try IAMClient(
                credentials: credentials, endpoint: plan.iam, transport: transport.trusting(caBundle: plan.caBundle), clock: clock,
                retryDelay: retryDelay)
                .allMFADevices(userName: userName)
        } catch {
            throw CredentialFlowError.aws(call: "ListMFADevices", error)
        }
        switch devices.count {
        case 0: throw CredentialFlowError.noMFADevice(user: identity.arn)
        case 1:
            let serial = devices[0].serialNumber
            note("Using the MFA device \(serial), the only one IAM lists for \(identity.arn) (set mfa_serial in profile '\(mfa.profile)' to skip this lookup)\n")
            return serial
        default:
            // Several: the one whose account is on the chosen token.
            let serials = devices.map(\.serialNumber)
            let onToken = try codes.serialsOnToken(serials, for: mfa)
            guard let onToken, onToken.count == 1 else {
                throw CredentialFlowError.severalMFADevices(serials, onToken: onToken, profile: mfa.profile)
            }
            note("Using the MFA device \(onToken[0]), the one of the \(serials.count) IAM lists for \(identity.arn) whose account is on the chosen token (set mfa_serial in profile '\(mfa.profile)' to skip this lookup)\n")
            return onToken[0]
        }
    }

    /// `arn:aws:iam::123456789012:user/division/alice` → `alice`; nil for
    /// root and for anything that is not an IAM user.
    public static func userName(fromARN arn: String) -> String? {
        ARN(arn)?.iamName(ofType: "user")
    }

    /// A code AWS has not seen: latchkey-made codes use a time step no
    /// latchkey process has spent (waiting for the next step if needed);
    /// typed codes are refused when the same one was already sent.
    private func mfaCode(for mfa: MFAUse, serial: String) throws -> String {
        if codes.makesCodes(for: mfa) {
            return try spentCodes.codeAtUnspentStep(
                serial: serial, clock: clock, wait: { codes.wait(seconds: $0, serial: serial) },
                code: { try codes.code(for: mfa, serial: serial, at: $0) })
        }
        let code = try codes.typedCode(for: mfa, serial: serial)
        guard code.utf8.count == 6, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw CredentialFlowError.invalidCode
        }
        guard try spentCodes.spendTyped(serial: serial, code: code, now: now()) else {
            throw CredentialFlowError.codeAlreadyUsed(serial: serial)
        }
        return code
    }

    private func sts(_ credentials: AWSCredentials, _ plan: CredentialPlan) -> STSClient {
        warnIfCleartext("STS", plan.sts)
        return STSClient(
            credentials: credentials, endpoint: plan.sts, transport: transport.trusting(caBundle: plan.caBundle), clock: clock,
            retryDelay: retryDelay)
    }
}

/// Remembers what was said, so a warning that every cache read would repeat
/// reaches the person once.
private final class SaidOnce {
    private var said: Set<String> = []

    func say(_ text: String, through note: (String) -> Void) {
        if said.insert(text).inserted { note(text) }
    }
}

extension CachedSession {
    init(_ credentials: STSCredentials, arn: String? = nil, mfaSerial: String?) {
        self.init(
            credentials: credentials.credentials, expiration: Int64(credentials.expiration.timeIntervalSince1970.rounded(.down)),
            arn: arn, mfaSerial: mfaSerial)
    }
}

extension SpentCodes {
    /// A code for `serial` at a time step no latchkey process on this
    /// machine has spent, waiting (through `wait`, in seconds) for the next
    /// step when the current one is taken; `code` makes the code for a Unix
    /// time. The code is always for the very step reserved: a wait that ran
    /// past it (a suspended laptop) reserves again, and so does one that
    /// ended because the current and next steps were both taken. No wait is
    /// longer than one period.
    public func codeAtUnspentStep(
        serial: String, clock: any RequestClock, wait: (UInt64) -> Void, code: (UInt64) throws -> String
    ) throws -> String {
        for _ in 0..<3 {
            let reservation = try reserveStep(serial: serial, now: clock.unixTime)
            let seconds = min(reservation.waitSeconds, reservation.period)
            if seconds > 0 { wait(seconds) }
            let time = clock.unixTime
            guard reservation.isReserved, time / reservation.period == reservation.step else { continue }
            return try code(time)
        }
        throw CredentialFlowError.clockUnsteady
    }
}
