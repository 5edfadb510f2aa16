// latchkey-virtual-key: a software YubiKey OATH applet that plugs into pcscd
// through vsmartcard's vpcd driver, for latchkey's tests and demo.
import ArgumentParser

struct LatchkeyVirtualKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey-virtual-key",
        abstract: "A software YubiKey OATH applet on pcscd's virtual reader (vsmartcard vpcd), for tests.",
        discussion: """
            Start it with pcscd running and the vsmartcard-vpcd driver installed; the reader \
            "Virtual PCD 00 00" then holds a card that Yubico's ykman and latchkey see as a YubiKey:

              latchkey-virtual-key serve --state /tmp/key.json &
              ykman --reader "Virtual PCD 00 00" oath accounts list

            scripts/virtual-key-env starts pcscd (when needed) and the key around one command.
            """,
        subcommands: [Serve.self, Add.self, List.self],
        defaultSubcommand: Serve.self
    )
}

LatchkeyVirtualKey.main()
