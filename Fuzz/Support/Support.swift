// FuzzSupport: what every fuzz target shares. A target's main.swift declares
// libFuzzer's entry point itself (it names the target's `fuzz(_:)`):
//
//     @_cdecl("LLVMFuzzerTestOneInput")
//     public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
//         fuzzInput(data, size, fuzz)
//     }

/// Hands one libFuzzer input to `body` as an array. Returning 0 is all
/// libFuzzer asks; a finding is a trap.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int, _ body: ([UInt8]) -> Void) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    body(bytes)
    return 0
}

/// Stops the run with `message` when `condition` is false: a property the
/// parser promises (a round trip, a bound) that this input breaks. libFuzzer
/// saves the input as a crash, like any other trap.
public func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #file,
    line: UInt = #line
) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// Bytes as `0a 1b …` for invariant messages.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
}

/// Takes a value the target only reads for its side effects (a trap, an
/// out-of-bounds access). With `_ = value` the optimizer may drop the work
/// that made it, checks and traps included, once it can see the code; it
/// cannot see into this function.
@inline(never) @_optimize(none)
public func use<T>(_ value: T) {}
