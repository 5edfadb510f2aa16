import Foundation
import SystemSupport

@testable import AWSConfig

/// A temporary HOME with `.aws/config` and `.aws/credentials` written from
/// the given texts (`nil` leaves a file out); removed when the value is
/// released.
final class ConfigFixture {
    let home: String
    var configPath: String { home + "/.aws/config" }
    var credentialsPath: String { home + "/.aws/credentials" }

    init(config: String? = nil, credentials: String? = nil) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("awsconfig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        if let config { try write(config, to: configPath) }
        if let credentials { try write(credentials, to: credentialsPath) }
    }

    deinit { try? FileManager.default.removeItem(atPath: home) }

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

/// A seeded generator, so a failing random case can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
