import LatchkeyCLI

// A warm `credential-process` answers from the cache before any argument
// parsing; everything else goes through the full command line.
CachedCredentialProcess.serveIfCached(CommandLine.arguments)
Latchkey.runAndExit()
