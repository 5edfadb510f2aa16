import OATH

/// A latchkey agent's token, reached through its socket: it makes codes
/// for the MFA devices the agent allows, with the agent's record of spent
/// steps. Its accounts are managed on the agent's machine.
struct AgentTokens: TokenSource {
    var client: AgentClient

    var kind: TokenKind { .agent }
    /// Whatever the agent's token needs is asked for on its machine.
    var needs: TokenNeeds { [] }

    private func onlyCodes() -> LatchkeyError {
        LatchkeyError(.usage, "the latchkey agent only makes codes: manage its accounts on the machine it runs on")
    }

    func list() throws -> (accounts: [TokenAccount], place: String) { throw onlyCodes() }
    func add(_ credential: OATHCredential, options: AddOptions) throws -> String { throw onlyCodes() }
    func delete(id: String) throws -> String { throw onlyCodes() }
    func rename(id: String, to newName: String) throws -> (newID: String, place: String) { throw onlyCodes() }

    /// The code for the MFA device whose serial ARN is `query`.
    func code(query: String?) throws -> String {
        guard let serial = query else {
            throw LatchkeyError(.usage, "name the MFA device's serial ARN: `latchkey code arn:aws:iam::…:mfa/NAME --agent`")
        }
        return try client.code(serial: serial)
    }

    /// The agent makes the code for the step it chooses (now, or the next
    /// one when this one was spent there), not for given times.
    func codes(anyOf ids: [String], at times: [UInt64]) throws -> Result<[String], NoSuchAccount> {
        guard times.count == 1, let serial = ids.first else { throw onlyCodes() }
        return .success([try client.code(serial: serial)])
    }
}
