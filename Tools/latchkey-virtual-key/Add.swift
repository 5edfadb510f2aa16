import ArgumentParser
import OATH
import VirtualKey

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put an account into a state file directly, as if a client had sent PUT.",
        discussion: """
            For seeding tests without a client; the key need not be running (a running key \
            does not see the change until it restarts).

            Examples:
              latchkey-virtual-key add --state key.json aws --secret-hex 3132333435363738393031323334353637383930
              latchkey-virtual-key add --state key.json Example:alice --secret-base32 JBSWY3DPEHPK3PXP --touch
              latchkey-virtual-key add --state key.json slow --secret-hex 00ff --period 60 --algorithm SHA256 --digits 8
              latchkey-virtual-key add --state key.json counter --secret-hex 00ff --hotp --counter 5
            """
    )

    @Option(help: "The state file (JSON); created when absent.")
    var state: String

    @Argument(help: "The account name ([issuer:]name; --period adds the \"period/\" prefix).")
    var name: String

    @Option(help: "The secret in hex.")
    var secretHex: String?

    @Option(help: "The secret in base32.")
    var secretBase32: String?

    @Option(help: "SHA1, SHA256 or SHA512.")
    var algorithm = "SHA1"

    @Option(help: "Digits per code: 6, 7 or 8.")
    var digits: UInt8 = 6

    @Option(help: "TOTP period in seconds; other than 30 it becomes a \"period/\" name prefix.")
    var period = 30

    @Flag(help: "An HOTP (counter) account instead of TOTP.")
    var hotp = false

    @Option(help: "HOTP: the counter the next code uses.")
    var counter: UInt64 = 0

    @Flag(help: "Require touch for codes.")
    var touch = false

    func run() throws {
        guard let hash = OATHAlgorithm(name: algorithm) else { throw ValidationError("unknown algorithm \(algorithm)") }
        guard StoredAccount.digitCounts.contains(digits) else { throw ValidationError("--digits must be 6, 7 or 8") }
        guard period > 0 else { throw ValidationError("--period must be positive") }
        let secret: [UInt8]
        switch (secretHex, secretBase32) {
        case (let hex?, nil):
            guard let bytes = Hex.decode(hex), !bytes.isEmpty else { throw ValidationError("--secret-hex is not hex") }
            secret = bytes
        case (nil, let text?):
            secret = try Base32.decode(text)
        default:
            throw ValidationError("give exactly one of --secret-hex and --secret-base32")
        }
        let id = !hotp && period != 30 ? "\(period)/\(name)" : name
        let nameBytes = Array(id.utf8)
        guard StoredAccount.nameLengths.contains(nameBytes.count) else {
            throw ValidationError("the name must be 1 to 64 bytes of UTF-8")
        }
        let account = StoredAccount(
            name: nameBytes, type: hotp ? .hotp : .totp, algorithm: hash, digits: digits,
            secret: hash.deviceKey(for: secret), requiresTouch: touch, counter: hotp ? counter : 0)
        let file = StateFile(path: state)
        var keyState = try file.loadOrCreate(random: SystemRandomSource())
        if let index = keyState.index(ofAccountNamed: nameBytes) {
            keyState.accounts[index] = account
        } else {
            keyState.accounts.append(account)
        }
        try file.save(keyState)
        print("added \(id)")
    }
}
