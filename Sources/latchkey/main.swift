import LatchkeyCLI

Latchkey.runAndExit()
