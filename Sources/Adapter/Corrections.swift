import Foundation
import GRDB
import MASHCore
import MASHRuntime
import MASHService

extension Adapter {
    /// A `mash.correction/1` from the hub, in the pump's transaction: applied to this agency's copies of the
    /// cases it names, and confirmed with a `mash.correction-receipt/1` committed with the change. Applying one
    /// twice (a chase after a lost receipt) changes nothing more and confirms again.
    func apply(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
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
                    arguments: [correction.restrictedBy, id])
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
    private func suppress(_ correction: Correction, _ db: any SQLDatabase) throws {
        guard let person = correction.person else { return }
        for ref in references(of: person) {
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

    /// An erasure or a restriction the hub sent that holds back research about a person.
    struct Suppression {
        var action: CorrectionAction
        var correction: String
    }

    /// The person's references as this adapter's suppressions hold them (keyed with its own data key).
    private func references(of person: Person) -> [String] {
        person.referenceKeys.map { keys.dataKeyring.pseudonym(of: $0) }
    }

    /// The suppression of each of `people` that has one, by position, read at once (an erasure before a
    /// restriction).
    func suppressions(of people: [Person]) async throws -> [Int: Suppression] {
        let references = people.map(references(of:))
        let all = references.flatMap { $0 }
        guard !all.isEmpty else { return [:] }
        let held = try await store.queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT ref, action, correction_id FROM suppression
                    WHERE ref IN (\(all.map { _ in "?" }.joined(separator: ","))) ORDER BY action = 'erase'
                    """, arguments: StatementArguments(all)
            ).reduce(into: [String: (action: String, correction: String)]()) {
                $0[$1["ref"]] = (action: $1["action"], correction: $1["correction_id"])
            }
        }
        var found: [Int: Suppression] = [:]
        for (index, refs) in references.enumerated() {
            let matches = refs.compactMap { held[$0] }
            guard let match = matches.first(where: { $0.action == CorrectionAction.erase.rawValue }) ?? matches.first,
                let action = CorrectionAction(rawValue: match.action)
            else { continue }
            found[index] = Suppression(action: action, correction: match.correction)
        }
        return found
    }
}

extension AdapterStore {
    /// The requests of `cases` held here, with their sealed bodies.
    func requests(ofCases cases: [String], _ db: any SQLDatabase) throws -> [Row] {
        guard !cases.isEmpty else { return [] }
        return try Row.fetchAll(
            db,
            sql: "SELECT id, body FROM request WHERE enquiry_id IN (\(cases.map { _ in "?" }.joined(separator: ",")))",
            arguments: StatementArguments(cases))
    }
}
