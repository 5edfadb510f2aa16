// Helpers shared by the test targets (see Package.swift). Never shipped.
//
// What is here, one file each:
//   Randomness.swift  `SplitMix64` (a seeded generator) and `bytes(_:)` on
//                     any RandomNumberGenerator
//   Files.swift       `TemporaryDirectory`, `makeTemporaryDirectory(_:)`,
//                     `readBytes`, `writeBytes`, `hex`, `bytes(fromHex:)`
//   Programs.swift    `runProgram` / `RunningProgram`: run a program with its
//                     output in files and every wait bounded (SIGTERM, then
//                     SIGKILL); `launchWithTerminationSignals`,
//                     `stopProcess`, `builtExecutablePath`
//   Python.swift      `runPython(script:input:)` for the botocore cross-checks
//   MFASTSServer.swift  `MFASTSServer`: starts and steers Fixtures/
//                     mfa_sts_server.py, an STS/IAM server that checks SigV4
//                     and accepts each MFA code once (moto accepts any code)
//
// Import it with `import TestSupport`; nothing here needs to be `@testable`.

/// A namespace reserved for the package's shared test helpers. The helpers
/// themselves are top-level (see the list above).
public enum TestSupport {}
