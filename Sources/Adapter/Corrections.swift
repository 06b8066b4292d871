import Foundation
import GRDB
import MASHCore
import MASHRuntime

extension Adapter {
    /// A `mash.correction/1` from the hub, in the pump's transaction: applied to this agency's copies of the
    /// cases it names, and confirmed with a `mash.correction-receipt/1` committed with the change. Applying one
    /// twice (a chase after a lost receipt) changes nothing more and confirms again.
    func apply(_ message: InboundMessage, _ db: Database) throws -> [OutboxMessage] {
        let correction = try Correction(message)
        let keys = Set(correction.person?.referenceKeys ?? [])
        var changed = 0
        var erased: [String] = []
        for row in try store.requests(ofCases: correction.cases, db) {
            let id: String = row["id"]
            let scope = "request:\(id)"
            let context = Array("request:\(id)".utf8)
            switch correction.action {
            case .restrict, .lift:
                try db.execute(
                    sql: "UPDATE request SET restricted_by = ? WHERE id = ?",
                    arguments: [correction.action == .restrict ? correction.correctionID : nil, id])
            case .markOpinionIncorrect:
                try db.execute(
                    sql: "INSERT OR IGNORE INTO opinion_mark (request_id, correction_id, at, note) VALUES (?, ?, ?, ?)",
                    arguments: [
                        id, correction.correctionID, now().timeIntervalSince1970,
                        Data(
                            try contentKeys.seal(
                                Array((correction.note ?? "").utf8), scope: scope,
                                context: Array("opinion:\(id):\(correction.correctionID)".utf8))),
                    ])
            case .erase, .rectify:
                var request = try ResearchRequest(
                    json: try contentKeys.open(Array(row["body"] as Data), scope: scope, context: context),
                    source: "stored request \(id)")
                if correction.action == .erase, keys.isEmpty || request.subject.isNamed(by: keys) {
                    // The request was about her: the whole copy goes, its key first.
                    erased.append(id)
                    changed += 1
                    continue
                }
                if correction.action == .erase {
                    request.household.removeAll { $0.isNamed(by: keys) }
                } else if let corrected = correction.corrected?.keeping(configuration.receives) {
                    if request.subject.isNamed(by: keys) { request.subject = request.subject.correcting(corrected) }
                    request.household = request.household.map {
                        $0.isNamed(by: keys)
                            ? $0.correcting(corrected.keeping(configuration.receives.union([.role]))) : $0
                    }
                }
                try db.execute(
                    sql: "UPDATE request SET body = ? WHERE id = ?",
                    arguments: [Data(try contentKeys.seal(request.json, scope: scope, context: context)), id])
            }
            changed += 1
        }
        try Purge.erase(erased, of: Self.copies(from: .closure), in: db, keys: contentKeys)
        try suppress(correction, db)
        logger.notice(
            "correction applied",
            metadata: [
                "correction": "\(correction.correctionID)", "action": "\(correction.action.rawValue)",
                "copies": "\(changed)", "erased": "\(erased.count)",
            ])
        metrics.increment("mash_corrections_applied_total", [("action", correction.action.rawValue)])
        return [
            try sealed(
                correction.receipt(copies: changed, at: now()).json, type: .correctionReceipt,
                headers: correction.receiptHeaders)
        ]
    }

    /// An erasure or a restriction of a named person holds back research answers about them from now on; a
    /// lifted restriction releases them.
    private func suppress(_ correction: Correction, _ db: Database) throws {
        guard let person = correction.person else { return }
        let refs = person.referenceKeys.map { keys.dataKeyring.pseudonym(of: $0) }
        for ref in refs {
            switch correction.action {
            case .erase, .restrict:
                try db.execute(
                    sql: """
                        INSERT INTO suppression (ref, action, correction_id, since) VALUES (?, ?, ?, ?)
                        ON CONFLICT (ref, action) DO NOTHING
                        """,
                    arguments: [ref, correction.action.rawValue, correction.correctionID, now().timeIntervalSince1970])
            case .lift:
                try db.execute(
                    sql: "DELETE FROM suppression WHERE ref = ? AND action = ?",
                    arguments: [ref, CorrectionAction.restrict.rawValue])
            case .rectify, .markOpinionIncorrect:
                break
            }
        }
    }

    /// Why research about `person` is held back (an erasure or restriction the hub sent), or nil.
    func suppression(of person: Person) async throws -> (action: String, correction: String)? {
        let refs = person.referenceKeys.map { keys.dataKeyring.pseudonym(of: $0) }
        guard !refs.isEmpty else { return nil }
        return try await store.queue.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT action, correction_id FROM suppression WHERE ref IN (\(refs.map { _ in "?" }.joined(separator: ",")))
                    ORDER BY action = 'erase' DESC LIMIT 1
                    """, arguments: StatementArguments(refs)
            ).map { (action: $0["action"], correction: $0["correction_id"]) }
        }
    }
}

extension AdapterStore {
    /// The requests of `cases` held here, with their sealed bodies.
    func requests(ofCases cases: [String], _ db: Database) throws -> [Row] {
        guard !cases.isEmpty else { return [] }
        return try Row.fetchAll(
            db,
            sql: "SELECT id, body FROM request WHERE enquiry_id IN (\(cases.map { _ in "?" }.joined(separator: ",")))",
            arguments: StatementArguments(cases))
    }
}
