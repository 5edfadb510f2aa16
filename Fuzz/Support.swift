// Compiled into every fuzz target (scripts/fuzz), beside its main.swift.

/// libFuzzer's entry point: hands each input to the target's `fuzz(_:)` as
/// an array. Returning 0 is all libFuzzer asks; a finding is a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzz(bytes)
    return 0
}

/// Stops the run with `message` when `condition` is false: a property the
/// parser promises (a round trip, a bound) that this input breaks. libFuzzer
/// saves the input as a crash, like any other trap.
func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file,
    line: UInt = #line
) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// Bytes as `0a 1b …` for invariant messages.
func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// Takes a value the target only reads for its side effects (a trap, an
/// out-of-bounds access). With `_ = value` the optimizer may drop the work
/// that made it, checks and traps included, once it can see the code; it
/// cannot see into this function.
@inline(never) @_optimize(none)
func use<T>(_ value: T) {}
