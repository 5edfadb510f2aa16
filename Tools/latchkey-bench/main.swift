// Timings hyperfine cannot make.
//
//   latchkey-bench scrypt [RUNS] [LOG2N]
//       median wall time of one vault key derivation (scrypt, r=8, p=1),
//       in-process, without process start-up
//   latchkey-bench interleave ROUNDS -- COMMAND [ARGS...] -- COMMAND ...
//       runs the commands in turn, one run of each per round (stdout to
//       /dev/null), and prints one line per command: its median and mean
//       wall time in ms, from posix_spawn to waitpid. hyperfine runs all of
//       one command before the next, so a machine whose speed drifts over
//       seconds (a VM with noisy neighbours: here medians of one binary
//       moved by 30 % between back-to-back runs) biases the comparison;
//       interleaving gives every command the same drift.
import _CryptoExtras
#if canImport(Glibc)
import Glibc
#endif

func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// `2.345`: three decimals, without Foundation's formatting.
func milliseconds(_ value: Double) -> String {
    let thousandths = Int((value * 1000).rounded())
    let fraction = String(thousandths % 1000)
    return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}

func usage() -> Never {
    print("usage: latchkey-bench scrypt [RUNS] [LOG2N]\n       latchkey-bench interleave ROUNDS -- COMMAND [ARGS...] [-- COMMAND ...]")
    exit(64)
}

func scrypt(_ arguments: ArraySlice<String>) throws {
    let runs = arguments.first.flatMap { Int($0) } ?? 15
    let log2N = arguments.dropFirst().first.flatMap { Int($0) } ?? 17
    let salt = [UInt8](repeating: 7, count: 32)
    let passphrase = Array("benchmark passphrase".utf8)
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = nowNanoseconds()
        _ = try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << log2N, blockSize: 8, parallelism: 1)
        samples.append(Double(nowNanoseconds() - start) / 1e6)
    }
    let sorted = samples.sorted()
    print("scrypt N=2^\(log2N) r=8 p=1: median \(Int(median(samples).rounded())) ms over \(runs) runs (min \(Int(sorted[0].rounded())), max \(Int(sorted[sorted.count - 1].rounded())))")
}

/// One run of `command`: wall time in ms, or exit 1 when it fails.
func timedRun(_ command: [String], devNull: Int32) -> Double {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, devNull, 1)
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let start = nowNanoseconds()
    guard posix_spawn(&pid, command[0], &actions, nil, argv, environ) == 0 else {
        print("latchkey-bench: cannot start \(command[0])")
        exit(1)
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let elapsed = Double(nowNanoseconds() - start) / 1e6
    guard status == 0 else {
        print("latchkey-bench: \(command.joined(separator: " ")) failed (wait status \(status))")
        exit(1)
    }
    return elapsed
}

func interleave(_ arguments: ArraySlice<String>) {
    guard let rounds = arguments.first.flatMap({ Int($0) }), rounds > 0 else { usage() }
    let commands = arguments.dropFirst().split(separator: "--", omittingEmptySubsequences: true).map(Array.init)
    guard !commands.isEmpty else { usage() }
    let devNull = open("/dev/null", O_WRONLY)
    var samples = [[Double]](repeating: [], count: commands.count)
    for _ in 0..<3 { for command in commands { _ = timedRun(command, devNull: devNull) } }  // warm-up
    for _ in 0..<rounds {
        for (index, command) in commands.enumerated() { samples[index].append(timedRun(command, devNull: devNull)) }
    }
    for (index, command) in commands.enumerated() {
        let mean = samples[index].reduce(0, +) / Double(rounds)
        print(milliseconds(median(samples[index])), milliseconds(mean), command.joined(separator: " "))
    }
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "scrypt": try scrypt(arguments.dropFirst())
case "interleave": interleave(arguments.dropFirst())
default: usage()
}
