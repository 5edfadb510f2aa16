import Glibc
@testable import SystemSupport
import Testing

/// The process's environment is not changed here (setenv while other suites
/// read the environment on other threads is not safe): the entries are the
/// test's own, read as `environ`'s are.
@Suite("Environment: entries read where asked")
struct EnvironmentTests {
    /// `NAME=value` strings that live as long as the process, as environ's do.
    static func entries(_ texts: [String]) -> [UnsafePointer<CChar>] {
        texts.map { UnsafePointer(strdup($0)!) }
    }

    @Test("Lookups find whole names only; the first of a repeated name wins, as with getenv")
    func lookups() {
        let environment = Environment(entries: Self.entries([
            "LATCHKEY_ONE=one=1", "EMPTY=", "NOEQUALS", "LATCHKEY_ONE=second", "=nameless", "HOME=/home/a",
        ]))
        #expect(environment["LATCHKEY_ONE"] == "one=1")
        #expect(environment["LATCHKEY_ON"] == nil)
        #expect(environment["LATCHKEY_ONE="] == nil)
        #expect(environment["LATCHKEY_ONE=one"] == nil)
        #expect(environment["NOEQUALS"] == nil)
        #expect(environment[""] == nil)
        #expect(environment["EMPTY"] == "")
        #expect(environment.nonEmpty("EMPTY") == nil)
        #expect(environment.homeDirectory == "/home/a")
        #expect(environment.variables == ["LATCHKEY_ONE": "one=1", "EMPTY": "", "": "nameless", "HOME": "/home/a"])
    }

    @Test("Setting a variable changes this value only")
    func setting() {
        var environment = Environment(entries: Self.entries(["A=1", "B=2"]))
        environment["C"] = "3"
        environment["A"] = nil
        #expect(environment.variables == ["B": "2", "C": "3"])
        #expect(environment["B"] == "2")
    }

    @Test("The process's own agrees with getenv")
    func process() {
        let environment = Environment.process
        #expect(environment["PATH"] == getenv("PATH").map { String(cString: $0) })
        #expect(environment["HOME"] == getenv("HOME").map { String(cString: $0) })
        #expect(environment["LATCHKEY_NOT_SET_ANYWHERE_6F1D"] == nil)
        #expect(environment.variables["PATH"] == environment["PATH"])
    }
}
