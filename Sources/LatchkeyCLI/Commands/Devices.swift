import ArgumentParser
import PCSC
import YubiKey
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `latchkey devices`: every PC/SC reader and what its OATH applet says.
struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List smart-card readers and whether an OATH applet answers in each.",
        discussion: """
            For each reader: the OATH applet's version, whether it has a password, and its
            device id (which `--remember` uses), or why it has none.

            Examples:
              latchkey devices
              latchkey devices --json
            """)

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws { try run(.live) }

    func run(_ context: CommandContext) throws {
        let pcsc: PCSCContext
        do { pcsc = try PCSCContext() } catch { throw KeyAccessError.pcsc(error) }
        let reports = try KeyFinder.survey(context: pcsc).map(DeviceReport.init)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            context.standardOutput(reports.isEmpty ? "[]\n" : String(decoding: try encoder.encode(reports), as: UTF8.self) + "\n")
            return
        }
        if reports.isEmpty { context.standardOutput("No smart-card readers.\n") }
        for report in reports {
            if let version = report.oathVersion {
                let password = report.passwordSet == true ? "password set" : "no password"
                context.standardOutput("\(report.reader): OATH \(version), \(password), device \(report.deviceID ?? "?")\n")
            } else {
                context.standardOutput("\(report.reader): no OATH applet (\(report.problem ?? "unknown"))\n")
            }
        }
    }
}

struct DeviceReport: Encodable {
    var reader: String
    var oathVersion: String?
    var passwordSet: Bool?
    var deviceID: String?
    var problem: String?

    init(_ report: ReaderReport) {
        reader = report.reader
        switch report.applet {
        case .success(let select):
            oathVersion = select.versionString
            passwordSet = select.isPasswordProtected
            deviceID = select.deviceID
        case .failure(let error):
            problem = error.description
        }
    }
}
