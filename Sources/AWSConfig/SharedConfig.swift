import SystemSupport

/// Where the shared config and credentials files are.
///
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` override the defaults
/// `~/.aws/config` and `~/.aws/credentials`; a leading `~/` in either is the
/// home directory, as botocore expands it.
public struct SharedConfigPaths: Sendable, Equatable {
    public var config: String
    public var credentials: String

    public init(config: String, credentials: String) {
        self.config = config
        self.credentials = credentials
    }

    /// The paths `environment` selects, or `nil` when a default is needed and
    /// there is no home directory.
    public init?(environment: Environment) {
        let home = environment.homeDirectory
        func resolve(_ variable: String, default name: String) -> String? {
            if let value = environment.nonEmpty(variable) {
                if value == "~" { return home }
                if value.hasPrefix("~/") { return home.map { $0 + value.dropFirst(1) } }
                return value
            }
            return home.map { $0 + "/.aws/" + name }
        }
        guard let config = resolve("AWS_CONFIG_FILE", default: "config"),
            let credentials = resolve("AWS_SHARED_CREDENTIALS_FILE", default: "credentials")
        else { return nil }
        self.init(config: config, credentials: credentials)
    }
}

/// The AWS shared config (`~/.aws/config`) and credentials
/// (`~/.aws/credentials`) files, parsed by the SDKs' shared rules (see
/// ``ConfigFileParser``) and merged: a profile in both files has the config
/// file's properties overlaid by the credentials file's, key by key.
public struct SharedConfig: Sendable, Equatable {
    /// Profiles from the config file alone (`[profile NAME]`, `[default]`).
    public var configFileProfiles: [String: ConfigSection]
    /// Profiles from the credentials file alone (`[NAME]`).
    public var credentialsFileProfiles: [String: ConfigSection]
    /// `[sso-session NAME]` sections of the config file.
    public var ssoSessions: [String: ConfigSection]
    /// `[services NAME]` sections of the config file.
    public var servicesSections: [String: ConfigSection]

    public init(
        configFileProfiles: [String: ConfigSection] = [:], credentialsFileProfiles: [String: ConfigSection] = [:],
        ssoSessions: [String: ConfigSection] = [:], servicesSections: [String: ConfigSection] = [:]
    ) {
        self.configFileProfiles = configFileProfiles
        self.credentialsFileProfiles = credentialsFileProfiles
        self.ssoSessions = ssoSessions
        self.servicesSections = servicesSections
    }

    /// Parses the two files' contents; `nil` stands for a missing file. The
    /// paths only name the files in errors.
    public static func parse(
        config: [UInt8]?, configPath: String, credentials: [UInt8]?, credentialsPath: String
    ) throws(SharedConfigError) -> SharedConfig {
        let configFile = try ConfigFileParser.parse(config ?? [], kind: .config, path: configPath)
        let credentialsFile = try ConfigFileParser.parse(credentials ?? [], kind: .credentials, path: credentialsPath)
        return SharedConfig(
            configFileProfiles: configFile.profiles, credentialsFileProfiles: credentialsFile.profiles,
            ssoSessions: configFile.ssoSessions, servicesSections: configFile.services)
    }

    /// Reads and parses the files at `paths`; a file that does not exist
    /// counts as empty. Symbolic links are followed (dotfile managers link
    /// `~/.aws/config`).
    public static func load(paths: SharedConfigPaths) throws(SharedConfigError) -> SharedConfig {
        func read(_ path: String) throws(SharedConfigError) -> [UInt8]? {
            do {
                return try PrivateFiles.read(path, limit: 4 << 20, followLinks: true)
            } catch {
                throw SharedConfigError(path: path, line: 0, reason: .unreadable(error))
            }
        }
        var credentials = try read(paths.credentials)
        defer { credentials?.wipe() }
        return try parse(
            config: try read(paths.config), configPath: paths.config, credentials: credentials,
            credentialsPath: paths.credentials)
    }

    /// Reads the files `environment` points at (see ``SharedConfigPaths``).
    /// Without a home directory and without the two variables there is
    /// nothing to read, and the result is empty.
    public static func load(environment: Environment) throws(SharedConfigError) -> SharedConfig {
        guard let paths = SharedConfigPaths(environment: environment) else { return SharedConfig() }
        return try load(paths: paths)
    }

    // MARK: - Merged view

    /// The profile `name` from both files, credentials-file values winning.
    public func profile(named name: String) -> ConfigSection? {
        let fromConfig = configFileProfiles[name]
        let fromCredentials = credentialsFileProfiles[name]
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        var merged = fromConfig ?? ConfigSection(name: name)
        for (key, value) in fromCredentials?.properties ?? [:] { merged.properties[key] = value }
        return merged
    }

    /// Every profile from either file, merged.
    public var profiles: [String: ConfigSection] {
        var result: [String: ConfigSection] = [:]
        for name in Set(configFileProfiles.keys).union(credentialsFileProfiles.keys) {
            result[name] = profile(named: name)
        }
        return result
    }

    /// The profile names from either file, sorted.
    public var profileNames: [String] {
        Set(configFileProfiles.keys).union(credentialsFileProfiles.keys).sorted()
    }

    public func ssoSession(named name: String) -> ConfigSection? { ssoSessions[name] }

    /// The `[services NAME]` section.
    public func services(named name: String) -> ConfigSection? { servicesSections[name] }

    /// The profile name to use: `explicit` (a command-line option), else
    /// `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`, else `default`.
    ///
    /// botocore consults `AWS_DEFAULT_PROFILE` before `AWS_PROFILE`; the AWS
    /// CLI documents `AWS_PROFILE`, and the two only disagree when both are
    /// set to different names.
    public static func selectedProfileName(explicit: String? = nil, environment: Environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        return environment.nonEmpty("AWS_PROFILE") ?? environment.nonEmpty("AWS_DEFAULT_PROFILE") ?? "default"
    }
}
