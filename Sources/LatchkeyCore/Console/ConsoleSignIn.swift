import AWSSigning
import CredentialFlow
import FoundationEssentials
import SessionCache
import STS
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A browser sign-in to the AWS console with a role session (AWS's
/// "custom identity broker" federation):
///
/// 1. `POST <endpoint>/federation` with the form
///    `Action=getSigninToken&SessionDuration=N&Session=<JSON>`, the JSON
///    being `{"sessionId","sessionKey","sessionToken"}` (the session's key
///    id, secret and token) → `{"SigninToken": "…"}`. POST, not GET: the
///    session stays out of URLs, which proxies and servers log.
/// 2. `<endpoint>/federation?Action=login&Issuer=latchkey&Destination=<console
///    URL>&SigninToken=<token>`: the URL the browser opens. It signs in
///    whoever has it, for about 15 minutes: a credential.
///
/// The endpoint is the partition's (`signin.aws.amazon.com`,
/// `signin.amazonaws.cn`, `signin.amazonaws-us-gov.com`) unless
/// `AWS_ENDPOINT_URL_SIGNIN` names another (the shared-config naming
/// pattern; `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns it off). AWS
/// takes only AssumeRole (or GetFederationToken) sessions here, so a profile
/// whose credentials come from GetSessionToken is refused before any code
/// is spent.
public struct ConsoleSignIn {
    public var world: World

    public init(world: World) { self.world = world }

    /// The shortest and longest console session AWS allows.
    public static let durationRange = 900...43_200

    /// Where the sign-in requests go, for a plan's region.
    public static func endpoint(region: String?, environment: Environment) -> String {
        let ignored = environment.nonEmpty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.lowercased() == "true"
        if !ignored, var override = environment.nonEmpty("AWS_ENDPOINT_URL_SIGNIN") {
            while override.hasSuffix("/") { override.removeLast() }
            return override
        }
        switch Partition(region: region) {
        case .china: return "https://signin.amazonaws.cn"
        case .govCloud: return "https://signin.amazonaws-us-gov.com"
        case .standard: return "https://signin.aws.amazon.com"
        }
    }

    /// The console page to land on: the partition's console home (in the
    /// plan's region), or `destination` (a path on the console, or a whole
    /// `https://` URL).
    public static func destination(_ destination: String?, region: String?) throws -> String {
        let console: String
        switch Partition(region: region) {
        case .china: console = "https://console.amazonaws.cn"
        case .govCloud: console = "https://console.amazonaws-us-gov.com"
        case .standard: console = "https://console.aws.amazon.com"
        }
        guard let destination else {
            return console + "/console/home" + (region.map { "?region=" + AWSPercentEncoding.encode($0) } ?? "")
        }
        if destination.hasPrefix("https://") { return destination }
        guard destination.hasPrefix("/") else {
            throw LatchkeyError(.usage, "--destination must be a console path such as /s3/home or an https:// URL, not '\(destination)'")
        }
        return console + destination
    }

    /// Refuses a plan whose credentials AWS will not federate, before any
    /// code or touch is spent on them.
    public static func check(_ plan: CredentialPlan) throws {
        guard case .assumeRole = plan.step else {
            let kind =
                switch plan.step {
                case .sessionToken: "come from GetSessionToken"
                case .longTerm: "are long-term keys"
                default: "come from a credential_process"
                }
            throw LatchkeyError(
                .noCredentials,
                "profile '\(plan.profile)': its credentials \(kind), which AWS does not accept for console sign-in; use a role profile (role_arn and source_profile) with mfa_serial"
            )
        }
    }

    /// The sign-in URL for `session` (the role session of `plan`).
    public func url(for session: CachedSession, plan: CredentialPlan, destination: String?, durationSeconds: Int?) throws -> String {
        try Self.check(plan)
        guard let sessionToken = session.credentials.sessionToken else {
            throw LatchkeyError(.noCredentials, "profile '\(plan.profile)' has no session token to sign in with")
        }
        let target = try Self.destination(destination, region: plan.region)
        let endpoint = Self.endpoint(region: plan.region, environment: world.environment) + "/federation"
        let sessionJSON =
            "{\"sessionId\":\(JSONText.quoted(session.credentials.accessKeyID)),\"sessionKey\":\(JSONText.quoted(session.credentials.secretAccessKey)),\"sessionToken\":\(JSONText.quoted(sessionToken))}"
        var form = "Action=getSigninToken"
        if let durationSeconds { form += "&SessionDuration=\(durationSeconds)" }
        form += "&Session=" + AWSPercentEncoding.encode(sessionJSON)
        var body = Array(form.utf8)
        defer { body.wipe() }
        let response: TransportResponse
        do {
            response = try world.http.trusting(caBundle: plan.caBundle).post(
                url: endpoint, headers: [HTTPField("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body)
        } catch {
            throw LatchkeyError(.awsUnavailable, "getSigninToken: cannot reach \(endpoint): \(error)")
        }
        let token = try Self.signinToken(from: response, endpoint: endpoint)
        return endpoint + "?Action=login&Issuer=latchkey&Destination=" + AWSPercentEncoding.encode(target) + "&SigninToken="
            + AWSPercentEncoding.encode(token)
    }

    /// The token in getSigninToken's answer: a JSON object whose
    /// `SigninToken` is printable ASCII, at most 8 KiB. Anything else is
    /// an error that quotes AWS's refusal (a short, printable first line)
    /// but never a body that looks like neither.
    static func signinToken(from response: TransportResponse, endpoint: String) throws -> String {
        guard response.status == 200 else {
            let line = String(decoding: response.body.prefix(300), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            let printable = line.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
            let said = printable && !line.isEmpty ? ": \(line)" : ""
            throw LatchkeyError(.awsRefused, "getSigninToken: the sign-in endpoint refused the session (HTTP \(response.status))\(said)")
        }
        struct Answer: Decodable { var SigninToken: String }
        guard response.body.count <= 16 << 10, let answer = try? JSONDecoder().decode(Answer.self, from: Data(response.body)),
            !answer.SigninToken.isEmpty, answer.SigninToken.utf8.count <= 8192,
            answer.SigninToken.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw LatchkeyError(
                .awsUnavailable,
                "getSigninToken: \(endpoint) answered something that is not a sign-in token (HTTP 200, \(response.body.count) bytes)")
        }
        return answer.SigninToken
    }

    /// Opens `url` in the person's browser with `xdg-open` (found in PATH).
    public func open(_ url: String) throws {
        let candidates = (world.environment.nonEmpty("PATH") ?? "/usr/bin:/bin").split(separator: ":").map { String($0) + "/xdg-open" }
        let path = candidates.first { access($0, X_OK) == 0 }
        guard let path else {
            throw LatchkeyError(.failure, "cannot open a browser: xdg-open is not installed (apt-get install xdg-utils); use --url to print the URL")
        }
        let outcome: ExternalProgram.Outcome
        do {
            outcome = try ExternalProgram(path: path).run([url], environment: world.environment, timeoutSeconds: 30)
        } catch {
            throw LatchkeyError(.failure, "cannot open a browser: \(error)")
        }
        guard outcome.status == 0 else {
            throw LatchkeyError(.failure, "xdg-open could not open a browser (\(outcome.timedOut ? "it took over 30 s" : "exit \(outcome.status.map(String.init) ?? "by a signal")")); use --url to print the URL")
        }
    }
}

/// The AWS partitions a region belongs to, as far as sign-in cares.
enum Partition {
    case standard, china, govCloud

    init(region: String?) {
        switch region {
        case let region? where region.hasPrefix("cn-"): self = .china
        case let region? where region.hasPrefix("us-gov-"): self = .govCloud
        default: self = .standard
        }
    }
}
