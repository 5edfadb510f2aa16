// The floor of any Swift command-line tool: a statically linked program that
// writes one line and exits. scripts/bench times latchkey against it.
print("ok")
