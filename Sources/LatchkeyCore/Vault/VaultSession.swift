import SealedStore
import SystemSupport

/// The sealed vault for one run: unlocked at most once, by whoever asks
/// first (sealed AWS keys, a sealed MFA account and a remembered OATH
/// access key together cost one scrypt and one passphrase), and changed
/// under its lock without deriving the key again.
public final class VaultSession {
    public let location: VaultLocation
    public let passphrases: Passphrases
    /// `nil`: not tried yet; `.some(nil)`: there is no vault.
    private var unlocked: UnlockedVault??
    /// Lock the unlocked vault's key and secrets in memory (`mlock`), for a
    /// vault kept open across requests (the agent's `--unlock-for`).
    public var keepsUnlockedInMemory = false

    public init(world: World, passphraseFile: String?) throws {
        location = try world.vaultLocation()
        passphrases = Passphrases(world: world, passphraseFile: passphraseFile)
    }

    /// Whether a vault file exists (read without unlocking it).
    public var exists: Bool { (try? Vault.header(at: location)) != nil }

    /// The unlocked vault, or `nil` when there is none. The passphrase is
    /// asked for on the first call only.
    public func open() throws -> UnlockedVault? {
        if let unlocked { return unlocked }
        let vault = try Vault.unlock(at: location, passphrases: passphrases)
        if keepsUnlockedInMemory { vault?.lockInMemory() }
        unlocked = .some(vault)
        return vault
    }

    /// The unlocked contents; an error naming `missing` when there is no vault.
    public func contents(missing: String = "there is no sealed vault yet (see `latchkey vault init`)") throws -> VaultContents {
        guard let vault = try open() else { throw LatchkeyError(.accountNotFound, missing) }
        return vault.contents
    }

    /// Changes the vault under its lock. An existing vault is unlocked
    /// first (the passphrase is asked for before the lock is taken); with no
    /// vault, one is created with `newVaultParameters` and a new passphrase,
    /// or, when that is `nil`, it is a `notFound` error.
    @discardableResult
    public func update<T>(creatingWith newVaultParameters: KDFParameters?, _ body: (inout VaultContents) throws -> T) throws -> T {
        if let vault = try open() { return try vault.update(body) }
        let result = try Vault.update(at: location, passphrases: passphrases, creatingWith: newVaultParameters, body)
        unlocked = nil
        return result
    }
}
