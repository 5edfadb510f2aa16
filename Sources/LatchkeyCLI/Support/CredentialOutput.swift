import ArgumentParser
import LatchkeyCore
import SessionCache

/// The shapes `aws configure export-credentials --format` prints, and the
/// `credential_process` JSON.
enum CredentialFormat: String, ExpressibleByArgument, CaseIterable {
    case env
    case envNoExport = "env-no-export"
    case fish
    case powershell
    case windowsCmd = "windows-cmd"
    case json
}

enum CredentialOutput {
    /// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":"YYYY-MM-DDTHH:MM:SSZ"}`.
    static func processJSON(_ session: CachedSession) -> String {
        var fields = [
            ("AccessKeyId", session.credentials.accessKeyID),
            ("SecretAccessKey", session.credentials.secretAccessKey),
        ]
        if let token = session.credentials.sessionToken { fields.append(("SessionToken", token)) }
        if session.expiration != Int64.max { fields.append(("Expiration", session.expirationText)) }
        return "{\"Version\":1," + fields.map { "\"\($0.0)\":\"\(jsonEscaped($0.1))\"" }.joined(separator: ",") + "}\n"
    }

    /// The credentials as `format`, one variable per line, in the AWS CLI's
    /// order: key id, secret, token, expiration.
    static func render(_ session: CachedSession, as format: CredentialFormat) throws -> String {
        if format == .json { return processJSON(session) }
        var variables = [
            ("AWS_ACCESS_KEY_ID", session.credentials.accessKeyID),
            ("AWS_SECRET_ACCESS_KEY", session.credentials.secretAccessKey),
        ]
        if let token = session.credentials.sessionToken { variables.append(("AWS_SESSION_TOKEN", token)) }
        if session.expiration != Int64.max { variables.append(("AWS_CREDENTIAL_EXPIRATION", session.expirationText)) }
        // These lines are meant for eval: refuse anything a shell would read
        // as more than a word (AWS's keys and tokens are base64 and never do).
        for (name, value) in variables where !isShellSafe(value) {
            throw LatchkeyError(.awsUnavailable, "\(name) from AWS holds characters that are unsafe to print for a shell; not printing it")
        }
        return variables.map { name, value in
            switch format {
            case .env: "export \(name)=\(value)\n"
            case .envNoExport: "\(name)=\(value)\n"
            case .fish: "set -gx \(name) \(value)\n"
            case .powershell: "$Env:\(name)=\"\(value)\"\n"
            case .windowsCmd: "set \(name)=\(value)\n"
            case .json: ""
            }
        }.joined()
    }

    static func isShellSafe(_ value: String) -> Bool {
        !value.isEmpty && value.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || "+/=_-.:".utf8.contains(byte)
        }
    }

    static func jsonEscaped(_ text: String) -> String { JSONText.escaped(text) }
}
