import LatchkeyCLI

// `credential-process` (warm: from the cache; cold: the whole flow) and
// `code NAME --yubikey` run before any argument parsing when their command
// line is understood; everything else goes through the full command line.
FastPaths.runIfPossible(CommandLine.arguments)
Latchkey.runAndExit()
