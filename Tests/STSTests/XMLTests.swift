import Foundation
import TestSupport
import Testing

@testable import STS

@Suite("Tiny XML reader")
struct XMLTests {
    func parse(_ text: String) throws(XML.ParseError) -> XML.Element { try XML.parse(Array(text.utf8)) }

    func reason(_ text: String) -> XML.ParseError.Reason? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test("Elements, text, prolog, comments, attributes and namespace prefixes")
    func basics() throws {
        let root = try parse(
            """
            \u{FEFF}<?xml version="1.0" encoding="UTF-8"?>
            <!-- leading comment -->
            <a:Root xmlns:a="urn:x" xmlns="urn:y" attr = 'single' other="dou'ble">
              <Child id="1">one</Child>
              <?processing instruction?>
              <a:Child>two<!-- inner comment --></a:Child>
              <Empty/>
              <Empty2 flag="x" />
              <Nested><Deeper>deep</Deeper></Nested>
            </a:Root>
            <!-- trailing comment -->
            """)
        #expect(root.name == "Root")
        #expect(root.children.map(\.name) == ["Child", "Child", "Empty", "Empty2", "Nested"])
        #expect(root.children(named: "Child").map(\.text) == ["one", "two"])
        #expect(root.child("Empty")?.text == "")
        #expect(root["Nested", "Deeper"]?.text == "deep")
        #expect(root["Nested", "Missing"] == nil)
        #expect(root.firstDescendant(named: "Deeper")?.text == "deep")
        #expect(root.firstDescendant(named: "Nope") == nil)
    }

    @Test("The five predefined entities, numeric references and CDATA decode to their characters")
    func entities() throws {
        let root = try parse(
            "<r>&lt;a&gt; &amp; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x1F600;&#233; <![CDATA[<raw & stuff>]]>!</r>")
        #expect(root.text == "<a> & \"q\" 's' AB😀é <raw & stuff>!")
    }

    @Test("First Error at any depth is found depth-first in document order")
    func descendantOrder() throws {
        let root = try parse("<R><A><Error>1</Error></A><Error>2</Error></R>")
        #expect(root.firstDescendant(named: "Error")?.text == "1")
    }

    @Test("Malformed documents are refused with a reason")
    func malformed() {
        let cases: [(String, XML.ParseError.Reason)] = [
            ("", .noRootElement),
            ("   ", .noRootElement),
            ("<?xml version='1.0'?>", .noRootElement),
            ("<a>", .unclosedElement),
            ("<a><b></a></b>", .mismatchedEndTag),
            ("<a></b>", .mismatchedEndTag),
            ("</a>", .mismatchedEndTag),
            ("<a/><b/>", .multipleRootElements),
            ("text<a/>", .textOutsideRoot),
            ("<a/>text", .textOutsideRoot),
            ("<![CDATA[x]]><a/>", .textOutsideRoot),
            ("<a", .unterminatedMarkup),
            ("<a x='1", .unterminatedMarkup),
            ("<a><!-- never closed", .unterminatedMarkup),
            ("<a><![CDATA[ never closed", .unterminatedMarkup),
            ("<?xml never closed", .unterminatedMarkup),
            ("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", .doctypeNotSupported),
            ("<a>&e;</a>", .invalidEntity),
            ("<a>&amp</a>", .invalidEntity),
            ("<a>& b</a>", .invalidEntity),
            ("<a>&#0;</a>", .invalidEntity),
            ("<a>&#xD800;</a>", .invalidEntity),
            ("<a>&#x110000;</a>", .invalidEntity),
            ("<a>&#xFFFFFFFFF;</a>", .invalidEntity),
            ("<a>&#12a;</a>", .invalidEntity),
            ("<a>&#;</a>", .invalidEntity),
            ("<>", .invalidName),
            ("< a/>", .invalidName),
            ("<1a/>", .invalidName),
            ("<a b/>", .malformedTag),
            ("<a b=c/>", .malformedTag),
            ("<a b='1'c='2'/>", .malformedTag),
            ("<a b='<'/>", .malformedTag),
            ("<a / >", .malformedTag),
            ("<a></a >x", .textOutsideRoot),
        ]
        for (text, expected) in cases {
            #expect(reason(text) == expected, "\(text.debugDescription)")
        }
        for bytes: [UInt8] in [
            Array("<a>".utf8) + [0xFF] + Array("</a>".utf8), Array("<a".utf8) + [0xC3] + Array("/>".utf8),
        ] {
            do {
                _ = try XML.parse(bytes)
                Issue.record("accepted invalid UTF-8")
            } catch {
                #expect(error.reason == (bytes.count == 8 ? .invalidUTF8 : .invalidName))
            }
        }
    }

    @Test("Nesting deeper than the limit is refused, the limit itself is accepted, and nothing recurses")
    func depth() throws {
        let limit = XML.maximumDepth
        let ok = String(repeating: "<a>", count: limit) + String(repeating: "</a>", count: limit)
        #expect(try parse(ok).name == "a")
        let deep = String(repeating: "<a>", count: limit + 1) + String(repeating: "</a>", count: limit + 1)
        #expect(reason(deep) == .tooDeep)
        let hostile = String(repeating: "<a>", count: 1_000_000)
        #expect(reason(hostile) == .tooDeep)
    }

    @Test("Oversized input and too many elements are refused")
    func limits() {
        #expect(throws: XML.ParseError(reason: .tooLarge, offset: 0)) {
            try XML.parse([UInt8](repeating: 0x20, count: XML.maximumSize + 1))
        }
        let many = "<r>" + String(repeating: "<a/>", count: XML.maximumElements) + "</r>"
        #expect(reason(many) == .tooManyElements)
    }

    @Test("Thousands of random and mutated documents never crash the reader")
    func fuzz() throws {
        var random = SplitMix64(seed: 0x0F22_AA11)
        let seeds = [
            Fixtures.getSessionTokenAWS, Fixtures.getSessionTokenMoto, Fixtures.assumeRoleAWS,
            Fixtures.getCallerIdentityAWS, Fixtures.errorMoto(code: "X", message: "m &amp; n"),
            Fixtures.errorMotoModeled, "<a><![CDATA[x]]>&#x41;<!--c--><?p?></a>",
        ].map { Array($0.utf8) }
        let tokens = [
            "<", ">", "/", "</", "/>", "<?", "?>", "<!--", "-->", "<![CDATA[", "]]>", "&", ";", "&#", "&#x",
            "&amp;", "=", "'", "\"", "a", "Error", "xmlns:x", "x:", " ", "\n", "\u{0}", "é", "<!DOCTYPE",
        ]
        var parsed = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0, let seed = seeds.randomElement(using: &random) {
                bytes = seed
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    guard !bytes.isEmpty else { break }
                    let at = Int.random(in: 0..<bytes.count, using: &random)
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                    case 1: bytes.remove(at: at)
                    case 2: bytes.insert(contentsOf: Array((tokens.randomElement(using: &random) ?? "").utf8), at: at)
                    default: bytes = Array(bytes.prefix(at))
                    }
                }
            } else {
                bytes = []
                for _ in 0..<Int.random(in: 0...30, using: &random) {
                    if Bool.random(using: &random) {
                        bytes += Array((tokens.randomElement(using: &random) ?? "").utf8)
                    } else {
                        bytes.append(UInt8.random(in: 0...255, using: &random))
                    }
                }
            }
            if let root = try? XML.parse(bytes) {
                parsed += 1
                _ = root.firstDescendant(named: "Error")
                // Whatever parses must also decode without trapping.
                let response = TransportResponse(status: 200, body: bytes)
                _ = try? GetSessionTokenResult(parsing: response)
                _ = try? AssumeRoleResult(parsing: response)
                _ = try? ListMFADevicesResult(parsing: response)
            }
        }
        #expect(parsed > 300, "the mutations should leave many documents well-formed")
    }
}
