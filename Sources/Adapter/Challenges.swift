import Foundation
import GRDB
import Logging
import MASHAgency
import MASHCore
import MASHProtocol
import MASHRuntime
import MASHService

/// Why a challenge could not be raised from this adapter, in words for the person at the agency.
public struct ChallengeNotRaised: Error, CustomStringConvertible {
    public var description: String
}

extension Adapter {
    /// A stage of a challenge this agency raised (`mash.challenge-stage/1`), in the pump's transaction: kept
    /// sealed under its request's key, the challenge's stage moved on, and marked to be passed to the agency's
    /// own system when its configuration names one. A stage of a challenge not raised here is refused.
    func keepStage(_ message: InboundMessage, _ db: any SQLDatabase) throws {
        let record = try Refusal.reading {
            try ChallengeStageRecord(json: message.payload, source: "message \(message.messageID)", now: now())
        }
        guard
            let kept = try store.keepStage(
                db, record, messageID: message.messageID, status: outcomeRecipient == nil ? .kept : .waiting,
                seal: { [contentKeys] requestID in
                    try contentKeys.seal(
                        message.payload, scope: "request:\(requestID)",
                        context: Array("challenge-stage:\(record.id)".utf8))
                }, now: now())
        else {
            throw Refusal(
                reason: "unknownChallenge",
                detail: "no challenge \(record.challengeID) was raised by \(configuration.agency)")
        }
        logger.notice(
            kept ? "a challenge this agency raised moved on" : "challenge stage already stored; ignored",
            metadata: [
                "challenge": "\(record.challengeID)", "stage": "\(record.stage.rawValue)",
            ])
    }

    /// Raises `challenge` from this agency: checked against the adapter's own store (the agency answered a
    /// request of the enquiry and the hub has sent its decision), kept sealed under that request's key, and
    /// committed to the outbox with it in one transaction. A running adapter publishes it within seconds (its
    /// relay sweeps the outbox); a stopped one, when it next starts. The hub's stages come back to the adapter.
    public static func raise(
        _ challenge: Challenge, configuration: AdapterConfiguration, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> String {
        let (keys, store, contentKeys, outbox) = try open(configuration)
        let message = try keys.sealed(
            challenge.json, type: .challenge, exchange: HubQueues.responsesExchange, routingKey: configuration.agency,
            headers: ["x-mash-enquiry": challenge.enquiryID], now: now())
        return try await outbox.write(now: now) { db in
            guard let request = try store.requestOfEnquiry(challenge.enquiryID, db) else {
                throw ChallengeNotRaised(
                    description:
                        "\(configuration.name) holds no request of enquiry \(challenge.enquiryID): only an agency the "
                        + "MASH asked may challenge its decision")
            }
            guard request.decided else {
                throw ChallengeNotRaised(
                    description:
                        "the hub has not sent the decision on enquiry \(challenge.enquiryID) yet: a challenge is to a "
                        + "decision, so raise it once the outcome has come")
            }
            try db.execute(
                sql: """
                    INSERT INTO challenge (id, request_id, enquiry_id, raised_by, raised_at, stage, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    challenge.id, request.id, challenge.enquiryID, challenge.raisedBy.staffID,
                    challenge.raisedAt.timeIntervalSince1970, ChallengeStage.raised.rawValue,
                    Data(
                        try contentKeys.seal(
                            challenge.json, scope: "request:\(request.id)",
                            context: Array("challenge:\(challenge.id)".utf8))),
                ])
            try outbox.enqueue(db, [message], now: now())
            return message.messageID
        }
    }

    /// The challenges raised from the store at `configuration.store`, the newest first.
    static func challenges(configuration: AdapterConfiguration) throws -> [AdapterStore.RaisedChallenge] {
        try AdapterStore(path: configuration.store, agency: configuration.agency).challenges()
    }
}
