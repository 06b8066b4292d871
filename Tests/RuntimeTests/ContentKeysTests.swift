import Foundation
import GRDB
import MASHRuntime
import MASHTesting
import Sealing
import Testing

@Suite("Crypto-shredding: a key per record, kept apart, deleted with the record")
struct ContentKeysTests {
    @Test("content opens until its key is shredded; a copy of the store taken before cannot be opened after")
    func shredding() throws {
        let scratch = try ScratchDirectory("content-keys")
        defer { scratch.remove() }
        let wrapping = DataKeyring(current: try .generate(id: "data-1"))
        let path = ContentKeys.path(besideStore: scratch.file("adapter.sqlite"))
        #expect(path == scratch.file("adapter.keys.sqlite"))
        let keys = try ContentKeys(path: path, wrapping: wrapping)
        let context = Array("request:r-1".utf8)
        let sealedOne = try keys.seal(Array("Ada".utf8), scope: "request:r-1", context: context)
        let sealedTwo = try keys.seal(Array("Bea".utf8), scope: "request:r-2", context: Array("request:r-2".utf8))
        #expect(try keys.open(sealedOne, scope: "request:r-1", context: context) == Array("Ada".utf8))
        // Each record has its own key: one record's key does not open another's content.
        #expect(throws: (any Error).self) { try keys.open(sealedTwo, scope: "request:r-1", context: context) }
        #expect(try keys.count == 2)

        // A key store reopened (a restart) unwraps the same key.
        let reopened = try ContentKeys(path: path, wrapping: wrapping)
        #expect(try reopened.open(sealedOne, scope: "request:r-1", context: context) == Array("Ada".utf8))
        // The key store is no use without the data-at-rest key: another key is refused when the store is opened
        // (a second host given a key of its own), saying what to do, and the keys stay as they were.
        let stranger = #expect(throws: WrongDataAtRestKey.self) {
            try ContentKeys(path: path, wrapping: DataKeyring(current: try .generate(id: "data-1")))
        }
        #expect(stranger?.description.contains("Start with the data-at-rest.key that sealed them") == true)
        #expect(try reopened.count == 2)

        let wrapped = try DatabaseQueue(path: path).read { db in
            try #require(try Data.fetchOne(db, sql: "SELECT wrapped FROM content_key WHERE scope = 'request:r-1'"))
        }
        try keys.shred(["request:r-1", "request:never-made"])
        #expect(try keys.hasKey("request:r-1") == false)
        #expect(try keys.hasKey("request:r-2"))
        // The sealed bytes kept elsewhere (an old backup of the content store) open no more, in this process
        // or another.
        let shredded = #expect(throws: ContentShredded.self) {
            try keys.open(sealedOne, scope: "request:r-1", context: context)
        }
        #expect(shredded?.scope == "request:r-1")
        #expect(throws: ContentShredded.self) {
            try ContentKeys(path: path, wrapping: wrapping).open(sealedOne, scope: "request:r-1", context: context)
        }
        // Nothing of the wrapped key is left in the file's free pages or its write-ahead log either.
        for file in [path, path + "-wal"] {
            let bytes = FileManager.default.contents(atPath: file) ?? Data()
            #expect(bytes.range(of: wrapped) == nil, "\(file) still holds the wrapped key")
        }
    }

    @Test("a key whose record never arrived (a crash between the two commits) is swept")
    func sweep() throws {
        let scratch = try ScratchDirectory("content-keys-sweep")
        defer { scratch.remove() }
        let keys = try ContentKeys(
            path: scratch.file("store.keys.sqlite"), wrapping: DataKeyring(current: try .generate(id: "data-1")))
        _ = try keys.seal([1], scope: "enquiry:kept", context: [])
        _ = try keys.seal([2], scope: "enquiry:orphan", context: [])
        #expect(try keys.sweep(before: Date().addingTimeInterval(-60)) { _ in false } == 0)
        #expect(try keys.sweep(before: Date().addingTimeInterval(60)) { $0 == "enquiry:kept" } == 1)
        #expect(try keys.hasKey("enquiry:kept"))
        #expect(try !keys.hasKey("enquiry:orphan"))
    }
}
