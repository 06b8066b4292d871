import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    /// The information sharing agreement's second set of duties: key revocation, signatories, the breach
    /// clock, the chain's checkpoints and staff acting as themselves.
    @Suite("Coordinator: information governance II")
    struct GovernanceTests {
        @Test("after keys revoke, a response signed with the revoked key is dead-lettered keyRevoked, no restart")
        func revokedKey() async throws {
            try await Harness.with("key-revoked") { harness in
                let police = try #require(try await harness.agencies(["police"], answering: false)["police"])
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("police got the request") {
                    police.received.value.requests.count == 1
                }
                let request = try #require(police.received.value.requests.first)
                let old = try harness.hub.keyPair("police").kid

                let revoked = try await harness.mashctl(
                    [
                        "keys", "revoke", "--agency", "police", "--kid", old, "--reason", "laptop stolen",
                        "--keys", harness.hub.keys.path,
                    ])
                #expect(revoked.status == 0, "\(revoked.output)")
                #expect(revoked.output.contains("warning: police has no key left that is not revoked"))
                let dead = try await harness.admin.consume(queue: HubQueues.responses + ".dlq")
                try await police.respond(to: request)
                let refused = try await dead.next(within: .seconds(30), "the response signed with the revoked key")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "keyRevoked")
                try refused.ack()
                #expect(
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'police'")
                    } != "answered")

                // Police's new key: its answer is accepted, still without a restart.
                // A minute newer, so it sorts after the first key even when both were made in the same second.
                _ = try KeyDirectory.generate(agency: "police", in: harness.hub.keys.path, now: Date() + 60)
                #expect(try harness.hub.keyPair("police").kid != old)
                try await police.respond(to: request)
                try await harness.eventually("the answer under the new key recorded") {
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'police'")
                    } == "answered"
                }
                let again = try await harness.mashctl(
                    [
                        "keys", "revoke", "--agency", "police", "--kid", "not-a-kid", "--reason", "typo",
                        "--keys", harness.hub.keys.path,
                    ])
                #expect(again.status != 0)
                #expect(again.output.contains("no key with kid 'not-a-kid'"))
            }
        }
    }
}
