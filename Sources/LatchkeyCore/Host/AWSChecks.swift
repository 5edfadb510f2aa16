import AWSConfig
import STS
import SystemSupport

import FoundationEssentials

/// The checks about AWS: the clock against STS, and the profiles' MFA sources.
public struct AWSChecks {
    public var environment: Environment
    /// The shared config, or why it could not be read.
    public var config: Result<SharedConfig, SharedConfigError>
    /// The World's transport: `doctor` reaches STS as the credentials do,
    /// through the same proxy settings and CA bundle.
    public var http: any HTTPTransport
    /// The local clock, read before and after the request.
    public var now: () -> Date

    /// TOTP codes change every 30 s; a clock off by more than a step gives
    /// codes AWS rejects.
    public static let clockTolerance = 30.0
    /// The values `latchkey_mfa` may have; absent means `prompt`.
    public static let mfaSources = MFASource.allCases.map(\.rawValue)

    /// How long the clock check waits for STS.
    public static let clockTimeoutMilliseconds = 5_000

    public init(environment: Environment, http: any HTTPTransport, now: @escaping () -> Date) {
        self.environment = environment
        self.http = http
        self.now = now
        do {
            config = .success(try SharedConfig.load(environment: environment))
        } catch {
            config = .failure(error)
        }
    }

    // MARK: - Clock

    /// Compares this clock with the `Date` header of an unauthenticated GET
    /// to the STS endpoint of the selected profile's region (so
    /// `AWS_ENDPOINT_URL_STS` and the other endpoint settings apply), trusting
    /// the CA bundle the credentials would (`AWS_CA_BUNDLE`, `ca_bundle`). No
    /// credentials are sent; STS answers with an error and a `Date` anyway.
    public func clock() -> DoctorCheck {
        let title = "clock in step with STS"
        let loaded = (try? config.get()) ?? SharedConfig()
        let profile = loaded.profile(named: SharedConfig.selectedProfileName(environment: environment))
        let endpoint: ServiceEndpoint
        do {
            endpoint = try EndpointResolver.sts(
                region: resolveRegion(environment: environment, profile: profile)?.value, profile: profile,
                config: loaded, environment: environment)
        } catch {
            return .fail("clock", title, "cannot tell where STS is: \(error)", fix: "correct that setting")
        }
        let url = endpoint.url.description
        let sent = now()
        let transport = http.trusting(caBundle: resolveCABundle(environment: environment, profile: profile)?.value)
        let response: TransportResponse
        do {
            response = try transport.get(url: url, timeoutMilliseconds: Self.clockTimeoutMilliseconds)
        } catch {
            return .warn(
                "clock", title, "not checked: \(error)",
                fix: "check the network connection (or AWS_ENDPOINT_URL_STS); latchkey needs STS only to get credentials")
        }
        let received = now()
        guard let serverDate = response.date else {
            return .warn("clock", title, "not checked: \(url) answered without a usable Date header")
        }
        // The header has whole seconds: the server's time was in [Date, Date + 1).
        let localMidpoint = sent.timeIntervalSince1970 + received.timeIntervalSince(sent) / 2
        let offset = serverDate.timeIntervalSince1970 + 0.5 - localMidpoint
        let seconds = Int(offset.magnitude.rounded())
        let source = "STS at \(url) (\(endpoint.source))"
        guard seconds > 1 else {
            return .ok("clock", title, "within 1 s of \(source)")
        }
        let direction = offset > 0 ? "behind" : "ahead of"
        let text = "this clock is \(seconds) s \(direction) \(source)"
        guard offset.magnitude <= Self.clockTolerance else {
            return .fail(
                "clock", title, text + "; TOTP codes move every 30 s, so AWS will reject them",
                fix: "set the clock right: `sudo timedatectl set-ntp true`, or check chrony/ntpd")
        }
        return .ok("clock", title, text)
    }

    // MARK: - Profiles

    /// Which profiles have `mfa_serial`, and where each gets its code from
    /// (`latchkey_mfa`).
    public func profiles() -> DoctorCheck {
        let title = "AWS profiles with mfa_serial"
        let loaded: SharedConfig
        switch config {
        case .success(let value): loaded = value
        case .failure(let error):
            return .fail("profiles", title, "\(error)", fix: "correct the file (`latchkey profiles` reads it the same way)")
        }
        let configPath = SharedConfigPaths(environment: environment)?.config ?? "~/.aws/config"
        var sources: [String] = []
        var wrong: [String] = []
        for name in loaded.profileNames {
            guard let profile = loaded.profile(named: name), profile.nonEmpty("mfa_serial") != nil else { continue }
            guard let value = profile.nonEmpty("latchkey_mfa") else {
                sources.append("\(name): prompt (latchkey_mfa not set)")
                continue
            }
            let source = value.lowercased()
            if Self.mfaSources.contains(source) {
                sources.append("\(name): \(source)")
            } else {
                wrong.append("\(name) has latchkey_mfa = \(printableName(value, limit: 40))")
            }
        }
        if !wrong.isEmpty {
            return .fail(
                "profiles", title, wrong.joined(separator: "; "),
                fix: "set latchkey_mfa to \(Self.mfaSources.dropLast().joined(separator: ", ")) or \(Self.mfaSources.last ?? "prompt") in \(configPath)")
        }
        guard !sources.isEmpty else {
            return .warn(
                "profiles", title,
                loaded.profileNames.isEmpty
                    ? "no profiles in \(configPath) or the credentials file"
                    : "none of the \(loaded.profileNames.count) profiles has mfa_serial",
                fix: "add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` and `latchkey_mfa = yubikey` (or sealed, prompt) to a profile in \(configPath)")
        }
        return .ok("profiles", title, sources.joined(separator: "; "))
    }
}
