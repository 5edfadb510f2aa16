// Fuzz target `agent`: the bytes that cross latchkey agent's socket. The
// agent parses a client's request (`AgentFrame.decode`, then
// `AgentRequest(body:)`); the client parses the agent's reply
// (`AgentReply(body:)`). Both come from the other machine.
//
// Checked besides "no crash": a frame body is never larger than the bound;
// a request or reply that parses has text fields without control
// characters and reads back from its own encoding.
import AgentProtocol
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzInput(data, size, fuzz)
}

func fuzz(_ bytes: [UInt8]) {
    // As a whole framed message, and as a bare body.
    if let body = try? AgentFrame.decode(bytes[...]) {
        invariant(body.count <= AgentFrame.maximumBodyBytes, "a frame body of \(body.count) bytes")
        parse(body)
    }
    parse(bytes[...])
}

func parse(_ body: ArraySlice<UInt8>) {
    if let request = try? AgentRequest(body: body) {
        invariant(printable(request.host), "a host with control characters")
        let again = try? AgentRequest(body: AgentFrame.decode(request.encoded()[...]))
        invariant(again == request, "a request does not read back")
    }
    if let reply = try? AgentReply(body: body) {
        if case .failure(_, let message) = reply { invariant(printable(message), "a failure message with control characters") }
        let encoded = reply.encoded()
        let again = try? AgentReply(body: AgentFrame.decode(encoded[...]))
        // A failure's message is cut to its bound when encoded again.
        if case .failure = reply { invariant(again != nil, "a failure reply does not read back") } else {
            invariant(again == reply, "a reply does not read back")
        }
    }
}

func printable(_ text: String) -> Bool {
    text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) }
}
