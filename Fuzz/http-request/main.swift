// Fuzz target `http-request`: what a local program sends the credential
// server (`exec --server`, `serve`) before its token is checked: the bytes
// read from a connection so far, through `HTTPRequestHead.parse` with the
// server's limits, and with tight ones.
//
// Checked besides "no crash": a head that parses is within the limits, has
// token names and single-line values, reads back from its own serialized
// form, and no shorter prefix of the input was already a head or an error
// that a longer one undoes (the server parses after every read).
import FuzzSupport
import LoopbackHTTP

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    check(bytes, limits: HTTPRequestHead.Limits())
    check(bytes, limits: HTTPRequestHead.Limits(maximumHeadBytes: 64, maximumFields: 2))
}

func check(_ bytes: [UInt8], limits: HTTPRequestHead.Limits) {
    let head: HTTPRequestHead?
    do {
        head = try HTTPRequestHead.parse(bytes[...], limits: limits)
    } catch {
        invariant([400, 413, 431, 505].contains(error.status), "status \(error.status)")
        return
    }
    guard let head else {
        invariant(bytes.count < limits.maximumHeadBytes, "an incomplete head of \(bytes.count) bytes was not refused")
        return
    }
    invariant(bytes.count <= limits.maximumHeadBytes, "a head of \(bytes.count) bytes passed")
    invariant(head.fields.count <= limits.maximumFields, "\(head.fields.count) fields passed")
    for field in head.fields {
        invariant(!field.name.isEmpty && !field.name.contains(":"), "field name \(field.name.debugDescription)")
        invariant(!field.value.utf8.contains(13) && !field.value.utf8.contains(10), "a value spans lines")
        invariant(field.value.first != " " && field.value.last != " ", "a value keeps its blanks")
    }
    // Values lose their surrounding blanks, so the round trip is of the parsed form.
    let again = try? HTTPRequestHead.parse(head.serialized[...], limits: HTTPRequestHead.Limits(maximumHeadBytes: 1 << 20, maximumFields: 1 << 10))
    invariant(again == head, "the head does not read back from \(hex(head.serialized))")
    // Every shorter read was "incomplete".
    for end in [0, bytes.count / 2, bytes.count - 1] where end < bytes.count {
        let earlier = try? HTTPRequestHead.parse(bytes[..<end], limits: limits)
        invariant(earlier == nil, "a prefix of \(end) bytes already parsed")
    }
}
