// Fuzz target `sts`: what comes back from STS and IAM (or from whatever
// answers at a configured endpoint URL).
//
// An input that starts with `HTTP/` is a whole response: the status line and
// header block as libcurl hands them over (parsed by `HTTPResponse`'s header
// parser, `100 Continue` blocks included), a blank line, then the body. Any
// other input is a body that came with status 200. The response then goes
// to every result parser latchkey has (GetSessionToken, AssumeRole,
// GetCallerIdentity, ListMFADevices, CreateVirtualMFADevice, GetUser,
// ListAccessKeys, CreateAccessKey), whose errors are read as latchkey
// reads them. Checked besides "no crash":
//
// - a parsed document stays within the parser's depth and element bounds;
// - timestamps in the body that parse print back as the same second.
import AWSSigning
import FoundationEssentials
import FuzzSupport
@testable import HTTP
@testable import STS

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    let response = transportResponse(bytes)
    use(response.date)
    results(response)
    document(response.body)
}

func transportResponse(_ bytes: [UInt8]) -> TransportResponse {
    guard bytes.starts(with: Array("HTTP/".utf8)) else { return TransportResponse(status: 200, body: bytes) }
    let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
    var split = bytes.endIndex
    var index = bytes.startIndex
    while index + separator.count <= bytes.endIndex {
        if bytes[index..<(index + separator.count)].elementsEqual(separator) {
            split = index
            break
        }
        index += 1
    }
    let head = String(decoding: bytes[..<split], as: UTF8.self)
    let body = split == bytes.endIndex ? [] : Array(bytes[(split + separator.count)...])
    // The last status line's code, as libcurl reports it (after 100 Continue).
    var status = 200
    for line in head.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) where line.hasPrefix("HTTP/") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let code = Int(fields[1]), (100...999).contains(code) { status = code }
    }
    let headers = HTTPResponse.parseHeaders(head).map { HTTPField($0.name, $0.value) }
    return TransportResponse(status: status, headers: headers, body: body)
}

func results(_ response: TransportResponse) {
    check { try GetSessionTokenResult(parsing: response).credentials }
    check { try AssumeRoleResult(parsing: response).credentials }
    check {
        use(try CallerIdentity(parsing: response))
        return nil
    }
    check {
        let list = try ListMFADevicesResult(parsing: response)
        invariant(!list.isTruncated || list.marker != nil, "a truncated device list without a marker")
        return nil
    }
    check {
        use(try CreateVirtualMFADeviceResult(parsing: response).description)
        use(try IAMUser(parsing: response))
        return nil
    }
    check {
        for key in try ListAccessKeysResult(parsing: response).keys { use(key.createDate) }
        return nil
    }
    check {
        let created = try CreateAccessKeyResult(parsing: response)
        let secret = created.secretAccessKey.bytes
        invariant((16...128).contains(secret.count) && secret.allSatisfy { (0x21...0x7E).contains($0) }, "a secret access key out of bounds")
        invariant(!created.description.contains(String(decoding: secret, as: UTF8.self)), "the description shows the secret")
        return nil
    }
}

/// Runs one result parser; a success must be a 2xx, and a service error
/// is read the ways the CLI reads it.
func check(_ parse: () throws -> STSCredentials?) {
    do {
        if let credentials = try parse() {
            use(credentials.description)
            use(AWSTimestamp.iso8601(credentials.expiration))
        }
    } catch let error as STSClientError {
        use(error.description)
        if case .service(let service) = error {
            invariant(!service.code.isEmpty, "a service error without a code")
            use(service.kind)
            use(service.clockOffset(from: Date(timeIntervalSince1970: 1_700_000_000)))
        }
    } catch {
        fatalError("invariant broken: a result parser threw \(error), not an STSClientError")
    }
}

func document(_ body: [UInt8]) {
    guard let root = try? XML.parse(body) else { return }
    var pending: [(XML.Element, Int)] = [(root, 1)]
    var count = 0
    while let (element, depth) = pending.popLast() {
        count += 1
        invariant(depth <= XML.maximumDepth, "an element at depth \(depth)")
        invariant(!element.name.isEmpty, "an element without a name")
        if element.children.isEmpty { timestamp(element.text) }
        pending += element.children.map { ($0, depth + 1) }
    }
    invariant(count <= XML.maximumElements, "\(count) elements")
}

/// A timestamp that parses prints as the same whole second, and that
/// printed form parses back to it (for years the printed form can hold).
func timestamp(_ text: String) {
    let trimmed = text.trimmingASCIIWhitespace()
    guard trimmed.utf8.count <= 64, let date = AWSTimestamp.parseISO8601(trimmed) else { return }
    let seconds = epochSeconds(date)
    // 0001-01-01 to 9999-12-31: a UTC offset may move a parsed date just
    // outside the four-digit years.
    guard (-62_135_596_800...253_402_300_799).contains(seconds) else { return }
    let printed = AWSTimestamp.iso8601(date)
    guard let again = AWSTimestamp.parseISO8601(printed) else {
        fatalError("invariant broken: \(trimmed) prints as \(printed), which does not parse")
    }
    invariant(epochSeconds(again) == seconds, "\(trimmed) prints as \(printed), a different second")
}
