import AMQP
import Foundation
import MASHTesting
import Testing

@Suite("Broker definitions (deploy/rabbitmq/definitions.json)")
struct DefinitionsTests {
    static let agencies = ["police", "health", "education", "housing", "yos", "probation", "turning-point"]

    let topology: Topology
    let document: [String: Any]

    init() throws {
        let path = Repository.path("deploy/rabbitmq/definitions.json")
        topology = try Topology(rabbitMQDefinitionsFile: path, vhost: "mash")
        let data = try #require(FileManager.default.contents(atPath: path))
        document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("every input queue is a quorum queue with a delivery limit and at-least-once dead-lettering to its DLQ")
    func inputQueues() throws {
        let inputs =
            ["coordinator.intake", "coordinator.responses", "coordinator.notifications"]
            + Self.agencies.map { "agency.\($0).enquiries" }
        for name in inputs {
            let queue = try #require(topology.queues.first { $0.name == name }, "queue \(name) missing")
            #expect(queue == Topology.Queue.quorum(name, deliveryLimit: 5, deadLetterExchange: "mash.dlx"))
            #expect(topology.queues.contains(Topology.Queue.deadLetters(of: name)), "no DLQ for \(name)")
            #expect(
                topology.bindings.contains(
                    Topology.Binding(exchange: "mash.dlx", queue: name + ".dlq", routingKey: name)))
        }
    }

    @Test(
        "each agency's user can read only its own queue, write only the response exchange (Police also the intake, for DANs), configure nothing"
    )
    func leastPrivilege() throws {
        let permissions = try #require(document["permissions"] as? [[String: String]])
        for agency in Self.agencies {
            let p = try #require(permissions.first { $0["user"] == agency }, "no permissions for \(agency)")
            #expect(p["configure"] == "^$")
            #expect(p["write"] == (agency == "police" ? #"^mash\.(responses|intake)$"# : #"^mash\.responses$"#))
            let read = try #require(p["read"])
            let regex = try Regex(read)
            #expect("agency.\(agency).enquiries".wholeMatch(of: regex) != nil)
            for other in Self.agencies where other != agency {
                #expect("agency.\(other).enquiries".wholeMatch(of: regex) == nil, "\(agency) can read \(other)")
            }
        }
    }

    @Test("the police and school flows' parties each read only their own queue and write only the intake")
    func flowParties() throws {
        let permissions = try #require(document["permissions"] as? [[String: String]])
        let own = [
            "csc": "csc.contacts", "orchestra": "orchestra.notices", "la-officer": "la-officer.encompass",
            "school-990001": "school.990001.encompass", "school-990002": "school.990002.encompass",
        ]
        let everyQueue = Array(own.values) + ["probation.safeguarding", "education.rolls", "coordinator.notifications"]
        for (party, queue) in own {
            let p = try #require(permissions.first { $0["user"] == party }, "no permissions for \(party)")
            #expect(p["configure"] == "^$")
            #expect(p["write"] == #"^mash\.intake$"#)
            let regex = try Regex(try #require(p["read"]))
            for other in everyQueue {
                #expect((other.wholeMatch(of: regex) != nil) == (other == queue), "\(party) reading \(other)")
            }
        }
    }

    @Test("the operator reads every dead-letter queue and the audit checkpoints, and no input queue")
    func operatorReads() throws {
        let permissions = try #require(document["permissions"] as? [[String: String]])
        let p = try #require(permissions.first { $0["user"] == "operator" })
        let regex = try Regex(try #require(p["read"]))
        for queue in topology.queues.map(\.name) {
            let readable = queue.hasSuffix(".dlq") || queue == "audit.checkpoints"
            #expect((queue.wholeMatch(of: regex) != nil) == readable, "operator reading \(queue)")
        }
        #expect(
            topology.bindings.contains(
                Topology.Binding(exchange: "mash.audit", queue: "audit.checkpoints", routingKey: "checkpoint")))
    }

    @Test("no user in the definitions carries a password hash: passwords are generated per installation")
    func noSecrets() throws {
        let users = try #require(document["users"] as? [[String: Any]])
        #expect(!users.isEmpty)
        for user in users {
            #expect((user["password_hash"] as? String) == "", "user \(user["name"] ?? "?") has a password hash")
        }
    }

    @Test("a malformed definitions file is refused with the path of the bad field")
    func malformed() {
        let bad = Data(#"{"queues": [{"name": "q", "vhost": "mash", "arguments": {"x-delivery-limit": [1]}}]}"#.utf8)
        #expect {
            try Topology(rabbitMQDefinitions: bad, vhost: "mash", source: "bad.json")
        } throws: { error in
            let text = "\(error)"
            return (error as? AMQPError)?.code == .invalidDefinitions && text.contains("bad.json")
                && text.contains("queues")
        }
    }
}
