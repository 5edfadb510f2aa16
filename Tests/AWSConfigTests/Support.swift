import Foundation
import SystemSupport
import TestSupport

@testable import AWSConfig

/// A temporary HOME with `.aws/config` and `.aws/credentials` written from
/// the given texts (`nil` leaves a file out); removed when the value is
/// released.
final class ConfigFixture {
    private let directory: TemporaryDirectory
    let home: String
    var configPath: String { home + "/.aws/config" }
    var credentialsPath: String { home + "/.aws/credentials" }

    init(config: String? = nil, credentials: String? = nil) throws {
        directory = try TemporaryDirectory("awsconfig")
        home = directory.path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        if let config { try write(config, to: configPath) }
        if let credentials { try write(credentials, to: credentialsPath) }
    }

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    var environment: Environment { Environment(["HOME": home]) }

    func load(_ extra: [String: String] = [:]) throws(SharedConfigError) -> SharedConfig {
        var environment = self.environment
        for (key, value) in extra { environment[key] = value }
        return try SharedConfig.load(environment: environment)
    }
}

/// Parses texts directly (no files), naming them `config` and `credentials`.
func parse(config: String? = nil, credentials: String? = nil) throws(SharedConfigError) -> SharedConfig {
    try SharedConfig.parse(
        config: config.map { Array($0.utf8) }, configPath: "config",
        credentials: credentials.map { Array($0.utf8) }, credentialsPath: "credentials")
}

/// The merged profiles as plain dictionaries, for compact expectations.
func flatten(_ config: SharedConfig) -> [String: [String: ConfigValue]] {
    config.profiles.mapValues(\.properties)
}

