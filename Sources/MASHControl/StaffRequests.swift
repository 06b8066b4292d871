import AMQP
import ArgumentParser
import Foundation
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel

/// Who is acting, as the coordinator checks it: a member of `Config/staff.yaml`, whose own key signs the
/// request. There is no name to type: the coordinator records the signer.
struct StaffOptions: ParsableArguments {
    @Option(
        help: """
            Your staff id in Config/staff.yaml (e.g. j.smith); your own key, <keys>/<id>/*.pem, signs the request \
            and the coordinator checks your roles. Default: $MASH_STAFF.
            """)
    var staff: String?

    @Option(help: "Key directory: <dir>/<staff-id>/*.pem signs, <dir>/coordinator/*.jwk seals to the coordinator.")
    var keys: String = ".build/keys"

    /// `--staff`, else `$MASH_STAFF`.
    func id() throws -> String {
        guard let id = staff ?? ProcessInfo.processInfo.environment["MASH_STAFF"], !id.isEmpty else {
            throw ValidationError(
                "say who you are: --staff <your staff id in Config/staff.yaml>, or set MASH_STAFF; your own key "
                    + "signs the request")
        }
        guard StaffRegister.isValidID(id) else {
            throw ValidationError("--staff '\(id)' is not a staff id (lower-case, with a '.': j.smith)")
        }
        return id
    }

    /// Signs `payload` with the member's key, seals it to the coordinator, publishes it to the coordinator's
    /// notifications on `connection`, and waits until the coordinator has recorded it. A refusal (not staff,
    /// a role that does not allow it, expired) is read from the notifications' dead-letter queue and reported
    /// at once; nothing has been done.
    func request(
        _ payload: [UInt8], type: DocumentType, what: String, on connection: AMQPConnection, broker: AMQPURL,
        store: HubReadModel, wait: TimeInterval = 2 * recordWindow
    ) async throws -> OperatorAction {
        let id = try await SenderOptions.publish(
            payload, type: type, as: try self.id(), keys: keys, on: connection,
            routingKey: HubQueues.operatorRoutingKey)
        let deadline = Date().addingTimeInterval(wait)
        var nextLook = Date().addingTimeInterval(1)
        while Date() < deadline {
            if let action = try store.operatorAction(messageID: id) { return action }
            if Date() >= nextLook {
                if let refusal = try await Self.refusal(of: id, broker: broker) {
                    throw CommandFailure(
                        "the coordinator refused the \(what): \(refusal.reason)"
                            + (refusal.detail.map { ": \($0)" } ?? "") + " (nothing was done)")
                }
                nextLook = Date().addingTimeInterval(1)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if let action = try store.operatorAction(messageID: id) { return action }
        throw CommandFailure(
            "the coordinator did not record the \(what) within \(Int(wait)) s (is it running? see `mashctl status`; "
                + "the request is message \(id))")
    }

    /// Opens a connection as the operator broker user for `request`, and closes it after.
    func request(
        _ payload: [UInt8], type: DocumentType, what: String, hub: HubOptions, wait: TimeInterval = 2 * recordWindow
    ) async throws -> OperatorAction {
        let store = try hub.storeOption.open()
        let broker = try hub.brokerURL()
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: broker, connectionName: "mashctl \(try id())"))
        do {
            let action = try await request(
                payload, type: type, what: what, on: connection, broker: broker, store: store, wait: wait)
            await connection.close()
            return action
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The dead letter of request `messageID` in the coordinator's notifications DLQ, if it was refused.
    static func refusal(of messageID: String, broker: AMQPURL) async throws -> DeadLetter? {
        let held = try await DeadLetterQueue.take(
            queue: HubQueues.notifications + ".dlq", limit: 1000, broker: broker)
        return try await held.releasing {
            held.deliveries.firstIndex { $0.properties.messageID == messageID }.map {
                DeadLetter(held.deliveries[$0], position: $0 + 1)
            }
        }
    }

    /// Records, before anything is shown, that this member is about to see content; throws (and nothing may be
    /// shown) if the coordinator refuses or cannot record it.
    func recordView(
        of subject: ContentView.Subject, _ reference: String, reason: String, hub: HubOptions
    ) async throws {
        let now = Date()
        let view = ContentView(
            requestedBy: try id(), subject: subject, reference: reference, reason: reason, at: now,
            expiresAt: now.addingTimeInterval(Self.recordWindow))
        _ = try await request(view.json, type: .contentView, what: "view (nothing is shown)", hub: hub)
    }

    /// How long the coordinator has to record a request; one it reads later is refused (`expired`). `mashctl`
    /// waits twice as long, so a request the coordinator records is always seen.
    static let recordWindow: TimeInterval = 30
}
