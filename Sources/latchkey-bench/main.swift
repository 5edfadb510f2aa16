// In-process timings that hyperfine cannot separate from process start-up.
//
//   latchkey-bench scrypt [RUNS] [LOG2N]   median wall time of one vault key
//                                          derivation (scrypt, r=8, p=1)
import _CryptoExtras
#if canImport(Glibc)
import Glibc
#endif

func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.first == "scrypt" else {
    print("usage: latchkey-bench scrypt [RUNS] [LOG2N]")
    exit(64)
}
let runs = arguments.dropFirst().first.flatMap { Int($0) } ?? 15
let log2N = arguments.dropFirst(2).first.flatMap { Int($0) } ?? 17
let salt = [UInt8](repeating: 7, count: 32)
let passphrase = Array("benchmark passphrase".utf8)
var samples: [Double] = []
for _ in 0..<runs {
    let start = nowNanoseconds()
    _ = try KDF.Scrypt.deriveKey(from: passphrase, salt: salt, outputByteCount: 32, rounds: 1 << log2N, blockSize: 8, parallelism: 1)
    samples.append(Double(nowNanoseconds() - start) / 1e6)
}
samples.sort()
let median = samples.count % 2 == 1 ? samples[samples.count / 2] : (samples[samples.count / 2 - 1] + samples[samples.count / 2]) / 2
print("scrypt N=2^\(log2N) r=8 p=1: median \(Int(median.rounded())) ms over \(runs) runs (min \(Int(samples[0].rounded())), max \(Int(samples[samples.count - 1].rounded())))")
