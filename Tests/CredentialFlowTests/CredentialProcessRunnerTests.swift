import AWSSigning
import Foundation
import SessionCache
import SystemSupport
import TestSupport
import Testing

@testable import CredentialFlow

@Suite("CredentialProcessRunner: another tool's credential_process through /bin/sh")
struct CredentialProcessRunnerTests {
    static let environment = Environment(["PATH": "/usr/bin:/bin"])

    /// A command printing `text` (which holds no single quote) on stdout.
    static func printing(_ text: String) -> String { "printf '%s' '\(text)'" }

    static func run(_ command: String, environment: Environment = environment) throws -> CachedSession {
        try CredentialProcessRunner(environment: environment).run(command, profile: "tool")
    }

    @Test("Full JSON becomes a session expiring at Expiration")
    func fullJSON() throws {
        let json =
            #"{"Version": 1, "AccessKeyId": "ASIATOOL", "SecretAccessKey": "tool/secret+", "SessionToken": "tok==", "Expiration": "2030-01-01T00:00:00Z"}"#
        let session = try Self.run(Self.printing(json))
        #expect(
            session
                == CachedSession(
                    credentials: AWSCredentials(
                        accessKeyID: "ASIATOOL", secretAccessKey: "tool/secret+", sessionToken: "tok=="),
                    expiration: 1_893_456_000))
        #expect(session.arn == nil)
    }

    @Test("Without Expiration or SessionToken the credentials never expire")
    func minimalJSON() throws {
        let session = try Self.run(Self.printing(#"{"Version":1,"AccessKeyId":"AKIATOOL","SecretAccessKey":"s"}"#))
        #expect(session.credentials == AWSCredentials(accessKeyID: "AKIATOOL", secretAccessKey: "s"))
        #expect(session.expiration == Int64.max)
    }

    @Test("Only stdout is read: what the tool says on stderr does not spoil the JSON")
    func stdoutOnly() throws {
        let command =
            "echo 'tool: using cached token' >&2; "
            + Self.printing(#"{"Version":1,"AccessKeyId":"AKIATOOL","SecretAccessKey":"s"}"#)
        #expect(try Self.run(command).credentials.accessKeyID == "AKIATOOL")
    }

    @Test(
        "Output that is not version-1 credential JSON is refused",
        arguments: [
            ("not json", "its output is not credential_process JSON"),
            (#"{"Version":1,"AccessKeyId":"A"}"#, "its output is not credential_process JSON"),
            (#"{"Version":"1","AccessKeyId":"A","SecretAccessKey":"s"}"#, "its output is not credential_process JSON"),
            (#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#, "its output has Version 2, not 1"),
            (
                #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"tomorrow"}"#,
                "its Expiration is not an ISO 8601 time"
            ),
            ("", "its output is not credential_process JSON"),
        ])
    func badOutput(_ output: String, _ detail: String) {
        expectFlowError(.processFailed(profile: "tool", detail: detail)) { try Self.run(Self.printing(output)) }
    }

    @Test("A failing tool is reported with its exit status, a killed one with 128 + the signal")
    func exitStatus() {
        let json = Self.printing(#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s"}"#)
        expectFlowError(.processFailed(profile: "tool", detail: "it exited with status 3")) {
            try Self.run(json + "; exit 3")
        }
        expectFlowError(.processFailed(profile: "tool", detail: "it exited with status 137")) {
            try Self.run(json + "; kill -9 $$")
        }
        expectFlowError(.processFailed(profile: "tool", detail: "it exited with status 127")) {
            try Self.run("/nonexistent/tool")
        }
    }

    @Test("The child gets the given environment with the nesting depth raised by one")
    func depthRaised() throws {
        let command =
            Self.printing(#"{"Version":1,"AccessKeyId":"AKIA"#)
            + #"; printf '%s%s' "$LATCHKEY_CREDENTIAL_PROCESS_DEPTH" "$MARK"; "#
            + Self.printing(#"","SecretAccessKey":"s"}"#)
        #expect(try Self.run(command, environment: Environment(["MARK": "X"])).credentials.accessKeyID == "AKIA1X")
        #expect(
            try Self.run(command, environment: Environment(["MARK": "Y", "LATCHKEY_CREDENTIAL_PROCESS_DEPTH": "2"]))
                .credentials.accessKeyID == "AKIA3Y")
        #expect(
            try Self.run(command, environment: Environment(["LATCHKEY_CREDENTIAL_PROCESS_DEPTH": "junk"])).credentials
                .accessKeyID == "AKIA1")
    }

    @Test("latchkey's own secrets (passphrase, OATH password, a PIN) never reach another tool's process")
    func noSecretsInChild() throws {
        let command =
            Self.printing(#"{"Version":1,"AccessKeyId":"AKIA"#)
            + #"; printf '%s-%s-%s-%s' "${LATCHKEY_PASSPHRASE:-none}" "${LATCHKEY_OATH_PASSWORD:-none}" "${LATCHKEY_TPM_PIN:-none}" "$LATCHKEY_READER"; "#
            + Self.printing(#"","SecretAccessKey":"s"}"#)
        let environment = Environment([
            "LATCHKEY_PASSPHRASE": "vault-pass", "LATCHKEY_OATH_PASSWORD": "oath-pass", "LATCHKEY_TPM_PIN": "1234",
            "LATCHKEY_READER": "Yubico",
        ])
        #expect(try Self.run(command, environment: environment).credentials.accessKeyID == "AKIAnone-none-none-Yubico")
    }

    @Test("Nested three deep, the command is not even started")
    func depthRefused() throws {
        let temporary = try TemporaryDirectory("process")
        let marker = temporary.file("ran")
        let command = "touch '\(marker)'; " + Self.printing(#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s"}"#)
        expectFlowError(
            .processFailed(profile: "tool", detail: "credential processes are nested 3 deep; is one calling itself?")
        ) {
            try Self.run(
                command, environment: Environment(["PATH": "/usr/bin:/bin", "LATCHKEY_CREDENTIAL_PROCESS_DEPTH": "3"]))
        }
        #expect(!PrivateFiles.exists(marker))
        _ = try Self.run(command)
        #expect(PrivateFiles.exists(marker))
    }

    @Test("Output beyond 64 KiB is refused, and the tool is not left running")
    func tooMuchOutput() {
        let error = #expect(throws: CredentialFlowError.self) { try Self.run("head -c 70000 /dev/zero") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("reading its output failed"), "\(String(describing: error))")
        // Exactly the limit is fine as far as reading goes (it is not JSON).
        expectFlowError(.processFailed(profile: "tool", detail: "its output is not credential_process JSON")) {
            try Self.run("head -c 65536 /dev/zero")
        }
    }
}
