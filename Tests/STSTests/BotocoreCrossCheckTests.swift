import AWSConfig
import AWSSigning
import Foundation
import TestSupport
import Testing

@testable import STS

/// The requests built here must be byte-for-byte what botocore builds for
/// the same operation and parameters, and carry the same signature.
///
/// botocore's side: its `query` serializer turns the parameters into a
/// request dict using the real STS/IAM service models,
/// `prepare_request_dict` + `create_request_object` make an `AWSRequest`,
/// and `SigV4Auth.add_auth` signs it. The clock is pinned by rebinding the
/// module-level `botocore.auth.get_current_datetime` (which `add_auth`
/// calls) to return the case's instant. The script prints the prepared
/// URL, body and `Authorization` header. No network is involved.
@Suite("Cross-check STS/IAM requests against botocore")
struct BotocoreRequestCrossCheckTests {
    static let script = #"""
        import datetime, json, sys
        import botocore.auth, botocore.serialize, botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import create_request_object, prepare_request_dict
        from botocore.credentials import Credentials

        session = botocore.session.get_session()
        serializer = botocore.serialize.create_serializer("query")
        results = []
        for case in json.load(open(sys.argv[1], encoding="utf-8")):
            instant = datetime.datetime.fromtimestamp(case["time"], tz=datetime.timezone.utc)
            botocore.auth.get_current_datetime = lambda *args, _instant=instant, **kwargs: _instant
            model = session.get_service_model(case["service"]).operation_model(case["operation"])
            params = json.loads(case["params"])
            request_dict = serializer.serialize_to_request(params, model)
            prepare_request_dict(request_dict, endpoint_url=case["endpoint"])
            request = create_request_object(request_dict)
            credentials = Credentials(case["accessKey"], case["secretKey"], case.get("token"))
            SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
            prepared = request.prepare()
            body = prepared.body or b""
            results.append({"url": prepared.url, "body": body if isinstance(body, str) else body.decode("utf-8"),
                            "authorization": prepared.headers["Authorization"],
                            "contentType": prepared.headers["Content-Type"]})
        json.dump(results, sys.stdout)
        """#

    struct Case: Codable {
        var service: String
        var operation: String
        /// The parameters as JSON, in the order this library sends them.
        var params: String
        var endpoint: String
        var region: String
        var accessKey: String
        var secretKey: String
        var token: String?
        var time: Int64
    }

    struct Result: Codable, Equatable {
        var url: String
        var body: String
        var authorization: String
        var contentType: String
    }

    /// Each case: the request built here, and the same parameters as JSON for botocore.
    static func cases() throws -> [(AWSQueryRequest, String, Case)] {
        let serial = "arn:aws:iam::123456789012:mfa/bob.smith@example.com"
        let role = "arn:aws:iam::123456789012:role/Admin_Role-1"
        var built: [(AWSQueryRequest, String, String)] = [
            (try GetSessionTokenRequest().queryRequest(), "sts", "{}"),
            (
                try GetSessionTokenRequest(durationSeconds: 129_600, serialNumber: serial, tokenCode: "012345")
                    .queryRequest(),
                "sts", #"{"DurationSeconds": 129600, "SerialNumber": "\#(serial)", "TokenCode": "012345"}"#
            ),
            (GetCallerIdentityRequest().queryRequest(), "sts", "{}"),
            (
                try AssumeRoleRequest(roleARN: role, roleSessionName: "bob@example.com").queryRequest(), "sts",
                #"{"RoleArn": "\#(role)", "RoleSessionName": "bob@example.com"}"#
            ),
            (
                try AssumeRoleRequest(
                    roleARN: role, roleSessionName: "latchkey-bob", policy: #"{"Version":"2012-10-17","Statement":[]}"#,
                    durationSeconds: 3600, tags: [SessionTag(key: "team", value: "a:b/c=d+e-f@g_h.i")],
                    externalID: "ext_id:/+=,.@-", serialNumber: serial, tokenCode: "999999", sourceIdentity: "bob.smith"
                ).queryRequest(), "sts",
                #"{"RoleArn": "\#(role)", "RoleSessionName": "latchkey-bob", "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "DurationSeconds": 3600, "Tags": [{"Key": "team", "Value": "a:b/c=d+e-f@g_h.i"}], "ExternalId": "ext_id:/+=,.@-", "SerialNumber": "\#(serial)", "TokenCode": "999999", "SourceIdentity": "bob.smith"}"#
            ),
            (try ListMFADevicesRequest().queryRequest(), "iam", "{}"),
            (
                try ListMFADevicesRequest(userName: "bob+ops=1", marker: "AAAA/bbbb+cccc==", maxItems: 1000)
                    .queryRequest(),
                "iam", #"{"UserName": "bob+ops=1", "Marker": "AAAA/bbbb+cccc==", "MaxItems": 1000}"#
            ),
        ]
        built += built  // each again with other endpoints, credentials and times
        let endpoints = [
            ("https://sts.eu-west-1.amazonaws.com", "eu-west-1"), ("https://sts.amazonaws.com", "us-east-1"),
            ("http://127.0.0.1:5000", "us-east-1"), ("https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ]
        return built.enumerated().map { index, item in
            let (request, service, params) = item
            let (endpoint, region) =
                service == "iam"
                ? (index % 2 == 0 ? ("https://iam.amazonaws.com", "us-east-1") : ("http://localhost:5001", "us-east-1"))
                : endpoints[index % endpoints.count]
            let temporary = index % 3 != 0
            return (
                request, endpoint,
                Case(
                    service: service, operation: request.action, params: params, endpoint: endpoint, region: region,
                    accessKey: temporary ? "ASIAEXAMPLE\(index)" : "AKIAEXAMPLE\(index)",
                    secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCY\(index)EXAMPLEKEY",
                    token: temporary ? "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ\(index)+/=" : nil,
                    time: 1_440_938_160 + Int64(index) * 86_461_237)
            )
        }
    }

    @Test("Bodies, URLs, Content-Type and Authorization match botocore's for every operation")
    func agreesWithBotocore() throws {
        let cases = try Self.cases()
        let theirs = try JSONDecoder().decode(
            [Result].self, from: runPython(script: Self.script, input: JSONEncoder().encode(cases.map(\.2))))
        try #require(theirs.count == cases.count)
        for (index, (request, endpointText, item)) in cases.enumerated() {
            let endpoint = ServiceEndpoint(
                url: try #require(EndpointURL(endpointText)), signingRegion: item.region,
                source: .regional)
            let signed = request.signed(
                for: endpoint, service: item.service,
                credentials: AWSCredentials(
                    accessKeyID: item.accessKey, secretAccessKey: item.secretKey,
                    sessionToken: item.token),
                at: Date(timeIntervalSince1970: TimeInterval(item.time)))
            let mine = Result(
                url: signed.url, body: String(decoding: signed.body, as: UTF8.self),
                authorization: signed.headers.value(of: "authorization") ?? "",
                contentType: signed.headers.value(of: "content-type") ?? "")
            #expect(mine == theirs[index], "case \(index): \(item.operation) \(item.params)")
        }
    }
}
