import Testing

/// A self-signed certificate for 127.0.0.1 (RSA 2048, valid for a day) and
/// its unencrypted key, written by openssl as `cert.pem` and `key.pem` in
/// `dir`: a loopback TLS server's identity, and the CA bundle that trusts it.
public func selfSignedCertificate(in dir: TemporaryDirectory) throws -> (cert: String, key: String) {
    let cert = dir.file("cert.pem"), key = dir.file("key.pem")
    let openssl = try runProgram(
        "/usr/bin/openssl",
        [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        timeout: 60)
    guard openssl.status == 0 else { throw CertificateNotMade(result: "\(openssl)") }
    return (cert, key)
}

public struct CertificateNotMade: Error, CustomStringConvertible {
    public var result: String
    public var description: String { "openssl req did not make a certificate: \(result)" }
}
