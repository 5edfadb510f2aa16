import LatchkeyCore
import ArgumentParser
import SessionCache

/// `latchkey logout [--profile P | --all]`: forget cached sessions.
struct Logout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove cached sessions: one profile's (its role and MFA sessions) or all.",
        discussion: """
            The sessions stay valid at AWS until they expire; logout only makes latchkey
            ask for a new code next time.

            Examples:
              latchkey logout --profile work
              latchkey logout --all
            """)

    @Option(help: ArgumentHelp("The AWS profile (default: AWS_PROFILE, else `default`).", valueName: "name"))
    var profile: String?

    @Flag(help: "Remove every cached session.")
    var all = false

    func validate() throws {
        if all, profile != nil { throw ValidationError("--all and --profile exclude each other") }
    }

    func run() throws { try run(.live) }

    func run(_ world: World) throws {
        if all {
            guard let cache = SessionCache.standard(in: world.environment) else {
                throw LatchkeyError(.failure, "cannot find the home directory: set HOME or XDG_CACHE_HOME")
            }
            let removed = try cache.removeAll()
            world.standardError("Removed \(removed) cached session\(removed == 1 ? "" : "s")\n")
            return
        }
        let setup = try CredentialService(world: world).setup(profile: profile, durationSeconds: nil)
        var removed = 0
        for key in setup.plan.allCacheKeys where try setup.cache.remove(key) { removed += 1 }
        world.standardError("Removed \(removed) cached session\(removed == 1 ? "" : "s") of profile '\(setup.plan.profile)'\n")
    }
}
