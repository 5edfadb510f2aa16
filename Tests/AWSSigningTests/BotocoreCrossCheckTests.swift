import Foundation
import TestSupport
import Testing

@testable import AWSSigning

/// Random requests signed here and by botocore's `SigV4Auth` must carry the
/// same `Authorization` header.
///
/// How botocore is pinned to a fixed time: `SigV4Auth.add_auth` reads the
/// clock through the module-level name `botocore.auth.get_current_datetime`
/// (imported from `botocore.compat`), so the script rebinds that name to a
/// function returning the case's instant before each `add_auth` call. The
/// request is an `AWSRequest` with the same method, URL, headers (Host set
/// explicitly) and body bytes; botocore then signs every header except its
/// blacklist (User-Agent, Expect, …), exactly as this signer signs the
/// headers it is given. All cases go to one `python3` run.
@Suite("Cross-check against botocore SigV4Auth")
struct BotocoreCrossCheckTests {
    static let script = #"""
        import datetime, json, sys
        import botocore.auth
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        cases = json.load(open(sys.argv[1], encoding="utf-8"))
        results = []
        for case in cases:
            instant = datetime.datetime.fromtimestamp(case["time"], tz=datetime.timezone.utc)
            botocore.auth.get_current_datetime = lambda *args, _instant=instant, **kwargs: _instant
            request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode("utf-8"))
            for name, value in case["headers"]:
                request.headers[name] = value
            credentials = Credentials(case["accessKey"], case["secretKey"], case.get("token"))
            SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
            results.append({"authorization": request.headers["Authorization"],
                            "date": request.headers["X-Amz-Date"],
                            "token": request.headers.get("X-Amz-Security-Token")})
        json.dump(results, sys.stdout)
        """#

    struct Case: Codable {
        var method: String
        var url: String
        var headers: [[String]]
        var body: String
        var accessKey: String
        var secretKey: String
        var token: String?
        var region: String
        var service: String
        var time: Int64
        var path: String
        var query: [[String]]
    }

    struct Result: Codable, Equatable {
        var authorization: String
        var date: String
        var token: String?
    }

    static func makeCases(count: Int) -> [Case] {
        var random = SplitMix64(seed: 0xB07C_0C0E)
        let hosts = [
            "sts.amazonaws.com", "sts.eu-west-1.amazonaws.com", "iam.amazonaws.com", "127.0.0.1:5000",
            "localhost:4566",
        ]
        let regions = ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
        let services = ["sts", "iam", "service"]
        let keyAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let secretAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let safeAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func word(_ alphabet: [Character], _ length: Int) -> String {
            String((0..<length).map { _ in alphabet.randomElement(using: &random) ?? "A" })
        }
        func printable(_ length: Int) -> String {
            String((0..<length).map { _ in Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &random))) })
        }
        var cases: [Case] = []
        for index in 0..<count {
            let host = hosts[index % hosts.count]
            let post = index % 4 != 3
            var headers: [[String]] = []
            var body = ""
            if post {
                headers.append(["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"])
                body =
                    "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=\(Int.random(in: 900...129600, using: &random))"
                    + "&SerialNumber="
                    + AWSPercentEncoding.encode("arn:aws:iam::123456789012:mfa/" + word(safeAlphabet, 8))
                    + "&TokenCode=" + String(format: "%06d", Int.random(in: 0...999_999, using: &random))
            }
            headers.append(["Host", host])
            for n in 0..<Int.random(in: 0...3, using: &random) {
                // Values with runs of spaces and surrounding blanks exercise trimming.
                headers.append(["X-Custom-\(n)", " " + printable(Int.random(in: 1...30, using: &random)) + "  "])
            }
            var query: [[String]] = []
            if !post {
                for _ in 0..<Int.random(in: 0...3, using: &random) {
                    query.append([
                        word(safeAlphabet, Int.random(in: 1...6, using: &random)),
                        word(safeAlphabet, Int.random(in: 0...6, using: &random)),
                    ])
                }
            }
            let queryText = query.map { $0[0] + "=" + $0[1] }.joined(separator: "&")
            let path = post ? "/" : "/" + word(safeAlphabet, 5)
            let scheme = host.hasPrefix("127.") || host.hasPrefix("localhost") ? "http" : "https"
            cases.append(
                Case(
                    method: post ? "POST" : "GET",
                    url: "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?" + queryText),
                    headers: headers, body: body, accessKey: (index % 2 == 0 ? "ASIA" : "AKIA") + word(keyAlphabet, 16),
                    secretKey: word(secretAlphabet, 40),
                    token: index % 2 == 0 ? word(secretAlphabet, Int.random(in: 16...400, using: &random)) : nil,
                    region: regions.randomElement(using: &random) ?? "us-east-1",
                    service: services.randomElement(using: &random) ?? "sts",
                    time: Int64.random(in: 946_684_800...4_102_444_800, using: &random), path: path, query: query))
        }
        return cases
    }

    @Test("300 random requests get the same Authorization header, date and token as botocore gives")
    func agreesWithBotocore() throws {
        let cases = Self.makeCases(count: 300)
        let theirs = try JSONDecoder().decode(
            [Result].self, from: runPython(script: Self.script, input: JSONEncoder().encode(cases)))
        try #require(theirs.count == cases.count)
        for (index, item) in cases.enumerated() {
            let request = SigV4Request(
                method: item.method, path: item.path, query: item.query.map { .init($0[0], $0[1]) },
                headers: item.headers.map { HTTPField($0[0], $0[1]) }, body: Array(item.body.utf8))
            let signer = SigV4Signer(
                credentials: AWSCredentials(
                    accessKeyID: item.accessKey, secretAccessKey: item.secretKey,
                    sessionToken: item.token),
                region: item.region, service: item.service)
            let signed = signer.sign(request, secondsSince1970: item.time)
            let mine = Result(
                authorization: signed.authorization, date: signed.headers.value(of: "x-amz-date") ?? "",
                token: signed.headers.value(of: "x-amz-security-token"))
            #expect(mine == theirs[index], "case \(index): \(item.method) \(item.url)")
        }
    }
}
