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

    private func spawn(_ command: String, environment: Environment, profile: String) throws -> (Int32, [UInt8]) {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw SystemError("cannot create a pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])

        let arguments = ["/bin/sh", "-c", command]
        let variables = environment.variables.map { "\($0.key)=\($0.value)" }
        var argv = arguments.map { strdup($0) } + [nil]
        var envp = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = ProcessHardening.withInheritedCoreLimit { posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, &envp) }
        close(pipeEnds[1])
        guard spawned == 0 else {
            close(pipeEnds[0])
            throw CredentialFlowError.processFailed(profile: profile, detail: "cannot start /bin/sh: \(Errno(rawValue: spawned))")
        }
        let output = Result { () throws(SystemError) -> [UInt8] in
            try PrivateFiles.readAll(fd: pipeEnds[0], limit: Self.maximumOutput)
        }
        close(pipeEnds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitStatus, try output.get())
    }
}
