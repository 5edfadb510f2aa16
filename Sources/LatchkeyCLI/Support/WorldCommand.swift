import ArgumentParser
import LatchkeyCore

/// A command that runs in a ``World`` it is given: `run()` passes
/// `World.live`, a test passes its own (swiftly's context passing).
protocol WorldCommand: ParsableCommand {
    func run(_ world: World) throws
}

extension Latchkey {
    /// Parses `arguments` (without the program name) and runs the command
    /// in `world`, as `main` does with the live world. Errors are thrown,
    /// not printed: a test reads their category.
    public static func run(_ arguments: [String], in world: World) throws {
        let command = try parseAsRoot(arguments)
        guard let runnable = command as? any WorldCommand else {
            throw LatchkeyError(.usage, "\(type(of: command)) does not run in a world")
        }
        try runnable.run(world)
    }
}

extension AccountsAdd: WorldCommand {}
extension AccountsDelete: WorldCommand {}
extension AccountsList: WorldCommand {}
extension AccountsRename: WorldCommand {}
extension Auth: WorldCommand {}
extension Code: WorldCommand {}
extension CredentialProcess: WorldCommand {}
extension Devices: WorldCommand {}
extension Doctor: WorldCommand {}
extension Exec: WorldCommand {}
extension Serve: WorldCommand {}
extension Console: WorldCommand {}
extension KeyPasswordClear: WorldCommand {}
extension KeyPasswordSet: WorldCommand {}
extension KeyReset: WorldCommand {}
extension KeysAdd: WorldCommand {}
extension KeysList: WorldCommand {}
extension KeysRemove: WorldCommand {}
extension Logout: WorldCommand {}
extension MFAEnroll: WorldCommand {}
extension MFAList: WorldCommand {}
extension MFAResync: WorldCommand {}
extension Profiles: WorldCommand {}
extension Setup: WorldCommand {}
extension VaultInfo: WorldCommand {}
extension VaultInit: WorldCommand {}
extension VaultPasswd: WorldCommand {}
extension Whoami: WorldCommand {}
extension Policy: WorldCommand {}
