import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHRuntime
import MASHService

extension Desk {
    /// A `mash.correction/1` from the hub, in the pump's transaction: applied to the items it names (erased,
    /// amended, restricted or lifted, or an opinion marked incorrect), and confirmed with a
    /// `mash.correction-receipt/1` committed with the change. Applying one twice changes nothing more.
    func apply(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let correction = try Correction(message)
        let keys = Set(correction.person?.referenceKeys ?? [])
        let marks = correction.messages.map { _ in "?" }.joined(separator: ",")
        let items = try Row.fetchAll(
            db, sql: "SELECT id, type, body FROM item WHERE id IN (\(marks))",
            arguments: StatementArguments(correction.messages))
        var erased: [String] = []
        for row in items {
            let id: String = row["id"]
            let scope = "item:\(id)"
            let context = Array("item:\(id)".utf8)
            switch correction.action {
            case .restrict, .lift:
                try db.execute(
                    sql: "UPDATE item SET restricted_by = ? WHERE id = ?",
                    arguments: [correction.restrictedBy, id])
            case .markOpinionIncorrect, .rectify, .erase:
                let body = try contentKeys.open(Array(row["body"] as Data), scope: scope, context: context)
                guard var document = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                    throw Refusal(reason: "corruptItem", detail: "stored item \(id) is not a JSON object")
                }
                let note: String
                switch correction.action {
                case .erase:
                    if keys.isEmpty || Self.isAbout(document, keys: keys) {
                        erased.append(id)
                        continue
                    }
                    document = Self.correcting(document, keys: keys, with: nil) as? [String: Any] ?? document
                    note = "Someone named in this item asked for their data to be erased: it was removed."
                case .rectify:
                    document =
                        Self.correcting(document, keys: keys, with: correction.corrected) as? [String: Any]
                        ?? document
                    let fields = (correction.corrected?.json ?? [:]).keys.sorted().joined(separator: ", ")
                    note = "Corrected by the hub: \(fields) of someone named in this item."
                default:
                    note = "An opinion in this item was found incorrect: \(correction.note ?? "")"
                }
                if correction.action != .markOpinionIncorrect {
                    let type = DocumentType(rawValue: row["type"]) ?? .outcome
                    let sealedBody = try contentKeys.seal(
                        DocumentWriter.encode(document), scope: scope, context: context)
                    let summary = try contentKeys.seal(
                        Array(try JSONEncoder().encode(DeskDocument.summary(type: type, document))), scope: scope,
                        context: context + [1])
                    try db.execute(
                        sql: "UPDATE item SET body = ?, summary = ? WHERE id = ?",
                        arguments: [Data(sealedBody), Data(summary), id])
                }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO item_note (item_id, correction_id, at, note) VALUES (?, ?, ?, ?)",
                    arguments: [
                        id, correction.correctionID, now().timeIntervalSince1970,
                        Data(
                            try contentKeys.seal(
                                Array(note.utf8), scope: scope,
                                context: Array("note:\(id):\(correction.correctionID)".utf8))),
                    ])
            }
        }
        try Purge.erase(erased, of: itemTable, in: db, keys: contentKeys)
        logger.notice(
            "correction applied",
            metadata: [
                "correction": "\(correction.correctionID)", "action": "\(correction.action.rawValue)",
                "items": "\(items.count)", "erased": "\(erased.count)",
            ])
        return [
            try sealed(
                correction.receipt(copies: items.count, at: now()).json, type: .correctionReceipt,
                routingKey: HubQueues.correctionReceiptRoutingKey, headers: correction.receiptHeaders)
        ]
    }

    /// What the hub told staff about an item (corrections, opinions marked incorrect), oldest first.
    func notes(of id: String) async throws -> [String] {
        let rows = try await store.queue.read { db in
            try Row.fetchAll(
                db, sql: "SELECT correction_id, note FROM item_note WHERE item_id = ? ORDER BY at", arguments: [id]
            ).map { (correction: $0["correction_id"] as String, note: Array($0["note"] as Data)) }
        }
        return try rows.map { row in
            String(
                decoding: try contentKeys.open(
                    row.note, scope: "item:\(id)", context: Array("note:\(id):\(row.correction)".utf8)),
                as: UTF8.self)
        }
    }

    /// A person as a document names them: an object with a forename, a surname and a date of birth (or an
    /// NHS number).
    static func person(_ value: Any?) -> Person? {
        guard let object = value as? [String: Any] else { return nil }
        let person = Person(
            forename: object["forename"] as? String, surname: object["surname"] as? String,
            dateOfBirth: (object["dateOfBirth"] as? String).flatMap(LocalDate.init),
            nhsNumber: object["nhsNumber"] as? String)
        return person.referenceKeys.isEmpty ? nil : person
    }

    /// Whether the document (or one it carries, as a package carries its enquiry) is about the person `keys`
    /// name: its `subject` is them.
    static func isAbout(_ value: Any, keys: Set<String>) -> Bool {
        if let array = value as? [Any] { return array.contains { isAbout($0, keys: keys) } }
        guard let object = value as? [String: Any] else { return false }
        if person(object["subject"])?.isNamed(by: keys) == true { return true }
        return object.values.contains { ($0 is [Any] || $0 is [String: Any]) && isAbout($0, keys: keys) }
    }

    /// `value` with every person `keys` name amended (`corrected`, only in the fields the document already
    /// has: a correction never adds to what a desk holds) or, without `corrected`, removed from their list.
    static func correcting(_ value: Any, keys: Set<String>, with corrected: Person?) -> Any {
        if let array = value as? [Any] {
            return array.compactMap { element -> Any? in
                if corrected == nil, person(element)?.isNamed(by: keys) == true { return nil }
                return correcting(element, keys: keys, with: corrected)
            }
        }
        guard var object = value as? [String: Any] else { return value }
        if let corrected, person(object)?.isNamed(by: keys) == true {
            for (field, new) in corrected.json where object[field] != nil { object[field] = new }
        }
        for (key, member) in object where member is [Any] || member is [String: Any] {
            object[key] = correcting(member, keys: keys, with: corrected)
        }
        return object
    }
}
