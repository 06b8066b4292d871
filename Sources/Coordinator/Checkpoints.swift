import Foundation
import GRDB
import Glibc
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime

extension Coordinator {
    /// Signs the record of sharing's head when `checkpointInterval` has passed since the last checkpoint and
    /// the chain has grown: the checkpoint is stored, published to `audit.checkpoints` through the outbox (in
    /// the same transaction) and, once committed, appended to the checkpoint file.
    func checkpointIfDue() async throws -> [OutboxMessage] {
        let now = now()
        // Two primary-key lookups on each timer tick: the latest checkpoint is the one covering the most entries.
        let due = try await store.sql.read { [settings] db -> Bool in
            let last = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT entries, at FROM audit_checkpoint ORDER BY entries DESC LIMIT 1"))
            if let last, now.timeIntervalSince1970 - (last["at"] as Double) < settings.checkpointInterval {
                return false
            }
            let head =
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM record_of_sharing")) ?? 0
            return head > (last?["entries"] ?? 0)
        }
        guard due else { return [] }
        let (messages, jws) = try await outbox.write(now: self.now) { [self] db -> ([OutboxMessage], String?) in
            guard
                let head = try Row.fetchOne(
                    db, sql: "SELECT seq, hash FROM record_of_sharing ORDER BY seq DESC LIMIT 1")
            else { return ([], nil) }
            let checkpoint = AuditCheckpoint(entries: head["seq"], hash: head["hash"], at: now)
            let jws = try checkpoint.signed(by: sealer.sender)
            try db.execute(
                sql: """
                    INSERT INTO audit_checkpoint (entries, hash, at, jws) VALUES (?, ?, ?, ?)
                    ON CONFLICT (entries) DO NOTHING
                    """,
                arguments: [checkpoint.entries, checkpoint.hash, now.timeIntervalSince1970, jws])
            guard db.changesCount == 1 else { return ([], nil) }
            let message = OutboxMessage(
                messageID: UUID().uuidString.lowercased(), exchange: HubQueues.auditExchange,
                routingKey: "checkpoint", type: AuditCheckpoint.type,
                headers: ["x-mash-sender": settings.identity, "x-mash-entries": String(checkpoint.entries)],
                body: Array(jws.utf8))
            try outbox.enqueue(db, [message], now: now)
            return ([message], jws)
        }
        if let jws {
            metrics.increment("mash_audit_checkpoints_total")
            if let file = settings.checkpointFile { try Self.append(line: jws, to: file) }
        }
        return messages
    }

    /// Appends one line to `file` and syncs it (the file is made mode 0644: a checkpoint holds no personal data).
    static func append(line: String, to file: String) throws {
        let descriptor = Glibc.open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CheckpointFileError(detail: "\(file): cannot open (\(String(cString: strerror(errno))))")
        }
        defer { Glibc.close(descriptor) }
        let bytes = Array((line + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw CheckpointFileError(detail: "\(file): cannot write (\(String(cString: strerror(errno))))")
        }
    }

    struct CheckpointFileError: Error, CustomStringConvertible {
        var detail: String
        var description: String { detail }
    }
}
