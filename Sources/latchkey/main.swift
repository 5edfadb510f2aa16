import LatchkeyCLI
import SystemSupport

// `credential-process` (warm: from the cache; cold: the whole flow) and
// `code NAME --yubikey` run before any argument parsing when their command
// line is understood (FastPaths, which protects the process itself before
// its cold paths read a secret); everything else goes through the full
// command line.
//
// A warm answer comes before ProcessHardening: measured, the call made the
// warm path about 1 ms slower, and that path holds only what this user's
// own files already hold (~/.aws/credentials, the session cache file).
FastPaths.runIfPossible(FastPaths.arguments)
// Before any command reads a secret: no core dump, no ptrace or
// /proc/PID/mem for other processes of this user (see ProcessHardening).
ProcessHardening.protectSecrets()
Latchkey.runAndExit()
