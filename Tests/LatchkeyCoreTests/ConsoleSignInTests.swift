import STS
import SystemSupport
import Testing

@testable import LatchkeyCore

/// The sign-in endpoint and destination per partition, and what counts as
/// getSigninToken's answer.
@Suite("Console sign-in: endpoints, destinations, answers")
struct ConsoleSignInTests {
    @Test("the sign-in endpoint per partition; AWS_ENDPOINT_URL_SIGNIN overrides unless configured endpoints are ignored")
    func endpoints() {
        let none = Environment([:])
        #expect(ConsoleSignIn.endpoint(region: "eu-west-1", environment: none) == "https://signin.aws.amazon.com")
        #expect(ConsoleSignIn.endpoint(region: nil, environment: none) == "https://signin.aws.amazon.com")
        #expect(ConsoleSignIn.endpoint(region: "cn-north-1", environment: none) == "https://signin.amazonaws.cn")
        #expect(ConsoleSignIn.endpoint(region: "us-gov-west-1", environment: none) == "https://signin.amazonaws-us-gov.com")
        let local = Environment(["AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9000/"])
        #expect(ConsoleSignIn.endpoint(region: "cn-north-1", environment: local) == "http://127.0.0.1:9000")
        var ignored = local
        ignored["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        #expect(ConsoleSignIn.endpoint(region: "cn-north-1", environment: ignored) == "https://signin.amazonaws.cn")
    }

    @Test("destinations: the console home in the region, a console path, an https URL; anything else is refused")
    func destinations() throws {
        #expect(try ConsoleSignIn.destination(nil, region: "eu-west-1") == "https://console.aws.amazon.com/console/home?region=eu-west-1")
        #expect(try ConsoleSignIn.destination(nil, region: nil) == "https://console.aws.amazon.com/console/home")
        #expect(try ConsoleSignIn.destination("/s3/home", region: "cn-north-1") == "https://console.amazonaws.cn/s3/home")
        #expect(try ConsoleSignIn.destination("/ec2", region: "us-gov-east-1") == "https://console.amazonaws-us-gov.com/ec2")
        #expect(try ConsoleSignIn.destination("https://example.com/x", region: nil) == "https://example.com/x")
        #expect(throws: LatchkeyError.self) { try ConsoleSignIn.destination("javascript:alert(1)", region: nil) }
    }

    @Test(
        "getSigninToken answers that are not a token are errors that never echo the body",
        arguments: [
            (200, "garbage"), (200, "{}"), (200, "{\"SigninToken\":\"\"}"), (200, "{\"SigninToken\":\"a b\"}"),
            (200, "{\"SigninToken\":42}"), (200, "[\"SigninToken\"]"),
        ])
    func notATokens(status: Int, body: String) {
        let response = TransportResponse(status: status, body: Array(body.utf8))
        #expect {
            try ConsoleSignIn.signinToken(from: response, endpoint: "https://signin.example/federation")
        } throws: { error in
            guard let error = error as? LatchkeyError else { return false }
            return error.category == .awsUnavailable && !error.message.contains(body)
        }
    }

    @Test("a token is taken; a refusal quotes AWS's first printable line only")
    func tokensAndRefusals() throws {
        let good = TransportResponse(status: 200, body: Array("{\"SigninToken\":\"abc-DEF_123\"}".utf8))
        #expect(try ConsoleSignIn.signinToken(from: good, endpoint: "e") == "abc-DEF_123")
        let refused = TransportResponse(status: 400, body: Array("Only federation tokens or assume role tokens may be used for federated login.\nmore".utf8))
        #expect {
            try ConsoleSignIn.signinToken(from: refused, endpoint: "e")
        } throws: { error in
            (error as? LatchkeyError)?.message
                == "getSigninToken: the sign-in endpoint refused the session (HTTP 400): Only federation tokens or assume role tokens may be used for federated login."
        }
        let binary = TransportResponse(status: 403, body: [0x1b, 0x5b, 0x32, 0x4a])
        #expect {
            try ConsoleSignIn.signinToken(from: binary, endpoint: "e")
        } throws: { error in
            (error as? LatchkeyError)?.message == "getSigninToken: the sign-in endpoint refused the session (HTTP 403)"
        }
    }
}
