import AWSSigning
import Foundation
import Testing

@testable import STS

@Suite("Decoding STS and IAM responses")
struct ResponseTests {
    @Test("AWS's GetSessionToken example decodes, whitespace around values trimmed, 3 fraction digits kept")
    func getSessionTokenAWS() throws {
        let result = try GetSessionTokenResult(parsing: xmlResponse(200, Fixtures.getSessionTokenAWS))
        #expect(
            result.credentials.credentials
                == AWSCredentials(
                    accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
                    sessionToken: Fixtures.exampleToken))
        #expect(abs(result.credentials.expiration.timeIntervalSince1970 - 1_310_414_129.611) < 0.000_01)
        #expect(!result.credentials.description.contains("wJalr"))
        #expect(!result.credentials.description.contains("AQoEXAMPLE"))
        #expect(result.credentials.description == "STSCredentials(AKIAIOSFODNN7EXAMPLE, expires 2011-07-11T19:55:29Z)")
    }

    @Test("moto's one-line GetSessionToken with 6 fraction digits decodes")
    func getSessionTokenMoto() throws {
        let result = try GetSessionTokenResult(parsing: xmlResponse(200, Fixtures.getSessionTokenMoto))
        #expect(result.credentials.credentials.sessionToken == Fixtures.exampleToken)
        #expect(abs(result.credentials.expiration.timeIntervalSince1970 - 1_795_345_392.4944) < 0.000_01)
    }

    @Test("AssumeRole from AWS (prolog, no fraction, extra elements) and moto decode with the assumed-role user")
    func assumeRole() throws {
        let aws = try AssumeRoleResult(parsing: xmlResponse(200, Fixtures.assumeRoleAWS))
        #expect(
            aws.assumedRoleUser
                == AssumedRoleUser(
                    assumedRoleID: "ARO123EXAMPLE123:John",
                    arn: "arn:aws:sts::123456789012:assumed-role/demo/John"))
        #expect(aws.credentials.credentials.accessKeyID == "ASIAIOSFODNN7EXAMPLE")
        #expect(aws.credentials.expiration.timeIntervalSince1970 == 1_573_306_481)
        #expect(aws.packedPolicySize == 6)
        #expect(aws.sourceIdentity == "DevUser123")

        let moto = try AssumeRoleResult(parsing: xmlResponse(200, Fixtures.assumeRoleMoto))
        #expect(moto.assumedRoleUser.arn == "arn:aws:sts::123456789012:assumed-role/r/ss")
        #expect(moto.credentials.credentials.secretAccessKey == "Gps8IlsCLf47bN3ez9cDEg0smG9LA1QqqcnUUVEH")
        #expect(moto.sourceIdentity == nil)
    }

    @Test("GetCallerIdentity gives account, ARN and user id")
    func callerIdentity() throws {
        let identity = try CallerIdentity(parsing: xmlResponse(200, Fixtures.getCallerIdentityAWS))
        #expect(
            identity
                == CallerIdentity(
                    account: "123456789012", arn: "arn:aws:iam::123456789012:user/Alice",
                    userID: "AKIAI44QH8DHBEXAMPLE"))
    }

    @Test("ListMFADevices gives serial numbers, IsTruncated and Marker; an empty list is fine")
    func listMFADevices() throws {
        let page = try ListMFADevicesResult(
            parsing: xmlResponse(
                200,
                Fixtures.listMFADevices(
                    members: [
                        ("bob", "arn:aws:iam::123456789012:mfa/bob", "2015-06-16T22:36:37Z"),
                        ("bob", "arn:aws:iam::123456789012:mfa/bob-yubikey", "2026-11-22T10:48:12.555841Z"),
                    ],
                    truncated: true, marker: "bWFya2Vy")))
        #expect(
            page.serialNumbers == ["arn:aws:iam::123456789012:mfa/bob", "arn:aws:iam::123456789012:mfa/bob-yubikey"])
        #expect(page.devices.first?.userName == "bob")
        #expect(page.devices.first?.enableDate?.timeIntervalSince1970 == 1_434_494_197)
        #expect(page.isTruncated)
        #expect(page.marker == "bWFya2Vy")

        let empty = try ListMFADevicesResult(
            parsing: xmlResponse(200, Fixtures.listMFADevices(members: [], truncated: false)))
        #expect(empty.devices.isEmpty)
        #expect(!empty.isTruncated)
        #expect(empty.marker == nil)
    }

    static let errorCases: [(code: String, message: String, kind: STSError.Kind)] = [
        ("AccessDenied", Fixtures.wrongCodeMessage, .wrongMFACode),
        ("AccessDenied", Fixtures.unknownSerialMessage, .unknownMFASerial),
        (
            "AccessDenied", "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole",
            .accessDenied
        ),
        ("ExpiredToken", "The security token included in the request is expired", .expiredToken),
        ("InvalidClientTokenId", "The security token included in the request is invalid.", .invalidClientTokenID),
        (
            "SignatureDoesNotMatch",
            "Signature expired: 20260101T000000Z is now earlier than 20260101T001500Z (20260101T003000Z - 15 min.)",
            .clockSkew
        ),
        (
            "SignatureDoesNotMatch", "Signature not yet current: 20260101T010000Z is still later than 20260101T004500Z",
            .clockSkew
        ),
        ("RequestExpired", "Request has expired.", .clockSkew),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.", .signatureDoesNotMatch
        ),
        ("Throttling", "Rate exceeded", .throttling),
        ("ThrottlingException", "Too many", .throttling),
        ("SomethingElse", "Rate exceeded", .throttling),
        (
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            .roleChainingLimit
        ),
        ("ValidationError", "1 validation error detected", .other),
        ("NoSuchEntity", "The user with name nobody cannot be found.", .other),
    ]

    @Test("AWS-shaped and moto-shaped errors become STSError with code, message and the right kind")
    func errors() throws {
        for (code, message, kind) in Self.errorCases {
            for (shape, body) in [
                ("aws", Fixtures.errorAWS(code: code, message: message)),
                ("moto", Fixtures.errorMoto(code: code, message: message)),
            ] {
                do {
                    _ = try GetSessionTokenResult(parsing: xmlResponse(code == "Throttling" ? 400 : 403, body))
                    Issue.record("\(shape) \(code) decoded as success")
                } catch {
                    let serviceError = try #require(error.serviceError, "\(shape) \(code): \(error)")
                    #expect(serviceError.code == code)
                    #expect(serviceError.message == message.trimmingCharacters(in: .whitespaces))
                    #expect(serviceError.kind == kind, "\(shape) \(code): \(message)")
                    #expect(serviceError.serverDate != nil)
                    #expect(serviceError.type == "Sender")
                    #expect(serviceError.requestID == (shape == "aws" ? "4a7c9ebd-5a0e-11e9-9e2e-EXAMPLE" : nil))
                }
            }
        }
    }

    @Test("moto's modelled error with a duplicate lower-case <message> reads <Message>; descriptions are one line")
    func motoModeledError() throws {
        do {
            _ = try ListMFADevicesResult(parsing: xmlResponse(404, Fixtures.errorMotoModeled))
            Issue.record("decoded an error")
        } catch {
            let serviceError = try #require(error.serviceError)
            #expect(serviceError.code == "NoSuchEntity")
            #expect(serviceError.httpStatus == 404)
            #expect(serviceError.requestID == "G2rcsXpTkN48uuL2oD5S4RwX0tejsieGFGfMWDexSoCJ772QuxGu")
            #expect(
                serviceError.description == "AWS NoSuchEntity (HTTP 404): The user with name nobody cannot be found.")
        }
        let multiline = STSError(code: "X", message: "a\nb\tc" + String(repeating: "z", count: 400), httpStatus: 400)
        #expect(!multiline.description.contains("\n"))
        #expect(multiline.description.count < 400)
    }

    @Test("An Error element inside a 200 response is still an error")
    func errorWithSuccessStatus() {
        do {
            _ = try CallerIdentity(
                parsing: xmlResponse(200, Fixtures.errorAWS(code: "Throttling", message: "Rate exceeded")))
            Issue.record("decoded an error")
        } catch {
            #expect(error.serviceError?.kind == .throttling)
        }
    }

    @Test("Wrong roots, missing elements, bad timestamps and non-XML bodies are malformed responses")
    func malformed() {
        let withoutToken = Fixtures.getSessionTokenMoto.replacingOccurrences(of: "<SessionToken>", with: "<Other>")
            .replacingOccurrences(of: "</SessionToken>", with: "</Other>")
        let badExpiration = Fixtures.getSessionTokenMoto.replacingOccurrences(
            of: "2026-11-22T11:03:12.494400Z",
            with: "tomorrow")
        let cases: [(Int, String, MalformedResponse)] = [
            (200, Fixtures.getCallerIdentityAWS, .unexpectedRoot("GetCallerIdentityResponse")),
            (200, "<GetSessionTokenResponse/>", .missingElement("GetSessionTokenResult")),
            (
                200, "<GetSessionTokenResponse><GetSessionTokenResult/></GetSessionTokenResponse>",
                .missingElement("Credentials")
            ),
            (200, withoutToken, .missingElement("Credentials/SessionToken")),
            (200, badExpiration, .invalidTimestamp("Credentials/Expiration")),
            (500, "<html>Internal error</html>", .noErrorDetails),
            (502, "Bad gateway", .noErrorDetails),
            (
                403, "<ErrorResponse><Error><Message>no code</Message></Error></ErrorResponse>",
                .missingElement("Error/Code")
            ),
        ]
        for (status, body, expected) in cases {
            do {
                _ = try GetSessionTokenResult(parsing: xmlResponse(status, body))
                Issue.record("decoded \(body.prefix(40))")
            } catch {
                guard case .malformedResponse(let gotStatus, let problem) = error else {
                    Issue.record("wrong error \(error)")
                    continue
                }
                #expect(gotStatus == status)
                #expect(problem == expected, "\(body.prefix(60))")
            }
        }
        do {
            _ = try GetSessionTokenResult(parsing: xmlResponse(200, "not xml"))
            Issue.record("decoded text")
        } catch {
            guard case .malformedResponse(200, .notXML) = error else {
                Issue.record("wrong error \(error)")
                return
            }
        }
    }

    @Test("A malformed-response description never quotes the secret it was decoding")
    func malformedHidesSecrets() {
        let body = Fixtures.getSessionTokenMoto.replacingOccurrences(of: "<Expiration>", with: "<Expiry>")
            .replacingOccurrences(of: "</Expiration>", with: "</Expiry>")
        do {
            _ = try GetSessionTokenResult(parsing: xmlResponse(200, body))
            Issue.record("decoded")
        } catch {
            #expect(error.description == "unexpected response (HTTP 200): missing Credentials/Expiration")
            #expect(!error.description.contains("wJalr"))
        }
    }
}
