import AWSSigning
import FoundationEssentials
import STS
import SessionCache
import SystemSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs another tool's `credential_process` the way the AWS SDKs do:
/// through `/bin/sh -c`, stdin and stderr inherited (its prompts reach the
/// person), stdout read as the credentials JSON.
///
/// `LATCHKEY_CREDENTIAL_PROCESS_DEPTH` is raised for the child, and a run
/// nested deeper than ``maximumDepth`` is refused, so that a loop through
/// some wrapper script cannot fork forever.
struct CredentialProcessRunner {
    static let depthVariable = "LATCHKEY_CREDENTIAL_PROCESS_DEPTH"
    static let maximumDepth = 3
    static let maximumOutput = 64 << 10

    var environment: Environment

    func run(_ command: String, profile: String) throws -> CachedSession {
        let depth = Int(environment[Self.depthVariable] ?? "") ?? 0
        guard depth < Self.maximumDepth else {
            throw CredentialFlowError.processFailed(profile: profile, detail: "credential processes are nested \(depth) deep; is one calling itself?")
        }
        // The process is another tool: it gets none of latchkey's secrets.
        var childEnvironment = environment.forChild
        childEnvironment[Self.depthVariable] = String(depth + 1)
        let status: Int32
        let output: [UInt8]
        do {
            (status, output) = try spawn(command, environment: childEnvironment, profile: profile)
        } catch let error as SystemError {
            throw CredentialFlowError.processFailed(profile: profile, detail: "reading its output failed: \(error)")
        }
        var bytes = output
        defer { bytes.wipe() }
        guard status == 0 else {
            throw CredentialFlowError.processFailed(profile: profile, detail: "it exited with status \(status)")
        }
        return try Self.parse(bytes, profile: profile)
    }

    /// The JSON a credential process prints:
    /// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`.
    static func parse(_ bytes: [UInt8], profile: String) throws -> CachedSession {
        struct Output: Decodable {
            var Version: Int
            var AccessKeyId: String
            var SecretAccessKey: String
            var SessionToken: String?
            var Expiration: String?
        }
        let output: Output
        do {
            output = try JSONDecoder().decode(Output.self, from: Data(bytes))
        } catch {
            throw CredentialFlowError.processFailed(profile: profile, detail: "its output is not credential_process JSON")
        }
        guard output.Version == 1 else {
            throw CredentialFlowError.processFailed(profile: profile, detail: "its output has Version \(output.Version), not 1")
        }
        var expiration = Int64.max
        if let text = output.Expiration {
            guard let date = AWSTimestamp.parseISO8601(text) else {
                throw CredentialFlowError.processFailed(profile: profile, detail: "its Expiration is not an ISO 8601 time")
            }
            expiration = Int64(date.timeIntervalSince1970)
        }
        return CachedSession(
            credentials: AWSCredentials(
                accessKeyID: output.AccessKeyId, secretAccessKey: output.SecretAccessKey, sessionToken: output.SessionToken),
            expiration: expiration)
    }

    /// `/bin/sh -c command` with stdin and stderr inherited (its prompts
    /// reach the person), stdout read (at most ``maximumOutput`` bytes); the
    /// rest of the policy is ``Subprocess``'s.
    private func spawn(_ command: String, environment: Environment, profile: String) throws -> (Int32, [UInt8]) {
        var process = Subprocess("/bin/sh", ["-c", command], environment: environment)
        process.input = .inherit
        process.outputLimit = Self.maximumOutput
        let result = Result { () throws(SystemError) -> Subprocess.Outcome in try process.run() }
        if case .failure(let error) = result, error.operation == "cannot run" {
            throw CredentialFlowError.processFailed(profile: profile, detail: "cannot start /bin/sh: \(error.errno)")
        }
        let outcome = try result.get()
        return (outcome.shellStatus, outcome.output)
    }
}
