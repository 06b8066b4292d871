import AMQP
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A vhost of its own on the test node, for one broker test: the hub's topology (the queues, exchanges,
/// bindings and policies of `deploy/rabbitmq/definitions.json`) and every broker user's permissions, copied
/// from the `mash` vhost. Tests in vhosts of their own see none of each other's messages, so they run in
/// parallel on one node. Made and removed through the management API (a few tenths of a second each).
public struct TestVhost: Sendable {
    /// The vhost's name: `t-<purpose>-<8 hex digits>`.
    public let name: String
    /// The test node, with every URL pointing at this vhost.
    public let broker: TestBroker
    /// The definitions with this vhost's name in place of `mash`, for what reads its topology from them (the
    /// coordinator, `mashctl status`).
    public let definitionsFile: String
    private let base: TestBroker
    private var slotted = true

    /// How many tests hold a vhost at once: parallel enough to overlap their waits, few enough that a 2-core
    /// machine still runs each test's clocks and timeouts on time.
    static let slots = AsyncSlots(3)

    /// Makes the vhost (waiting for one of the `slots`); `remove()` deletes it and frees the slot.
    /// `slotted: false` takes no slot: a test's second vhost, on another node, for a test that holds one already.
    public static func create(
        _ purpose: String, on base: TestBroker, definitions: String, scratch: ScratchDirectory, slotted: Bool = true
    ) async throws -> TestVhost {
        if slotted { await slots.acquire() }
        do {
            let safe = purpose.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
            let name = "t-\(String(safe).prefix(40))-\(UUID().uuidString.prefix(8).lowercased())"
            var vhost = TestVhost(
                name: name, broker: base.inVhost(name),
                definitionsFile: scratch.file(slotted ? "definitions.json" : "definitions-\(name).json"), base: base)
            vhost.slotted = slotted
            try await vhost.make(from: definitions)
            return vhost
        } catch {
            if slotted { await slots.release() }
            throw error
        }
    }

    private func make(from definitions: String) async throws {
        guard
            var document = try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: definitions))) as? [String: Any]
        else { throw Failure("\(definitions) is not a JSON object") }
        var scoped: [String: Any] = [:]
        for key in ["queues", "exchanges", "bindings", "policies", "permissions"] {
            let objects = (document[key] as? [[String: Any]] ?? []).filter { $0["vhost"] as? String == "mash" }
            document[key] = objects.map { object in object.merging(["vhost": name]) { _, new in new } }
            if key != "permissions" { scoped[key] = document[key] }
        }
        document["vhosts"] = [["name": name]]
        try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            .write(to: URL(fileURLWithPath: definitionsFile))

        _ = try await management("PUT", "/api/vhosts/\(name)", [:])
        let permissions = try await management("GET", "/api/vhosts/mash/permissions", nil)
        guard let grants = try JSONSerialization.jsonObject(with: permissions) as? [[String: Any]] else {
            throw Failure("the permissions of vhost mash are not a JSON array")
        }
        for entry in grants {
            guard let user = entry["user"] as? String else { continue }
            try await grant(user, entry)
        }
        _ = try await management("POST", "/api/definitions/\(name)", scoped)
    }

    /// Gives `user` in this vhost the permissions it has in `mash` (for a user added after the vhost was made,
    /// as `broker.sh add-agency` does).
    public func grant(_ user: String) async throws {
        let body = try await management("GET", "/api/permissions/mash/\(user)", nil)
        guard let grant = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw Failure("the permissions of \(user) in vhost mash are not a JSON object")
        }
        try await self.grant(user, grant)
    }

    private func grant(_ user: String, _ grant: [String: Any]) async throws {
        let rights = ["configure", "write", "read"].reduce(into: [String: Any]()) { $0[$1] = grant[$1] ?? "^$" }
        _ = try await management("PUT", "/api/permissions/\(name)/\(user)", rights)
    }

    /// Deletes the vhost with everything in it, and frees its slot.
    public func remove() async {
        _ = try? await management("DELETE", "/api/vhosts/\(name)", nil)
        if slotted { await Self.slots.release() }
    }

    private func management(_ method: String, _ path: String, _ body: [String: Any]?) async throws -> Data {
        guard let url = URL(string: base.managementURL + path) else { throw Failure("bad management URL \(path)") }
        let admin = try AMQPURL(base.url)
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue(
            "Basic " + Data("\(admin.user):\(admin.password)".utf8).base64EncodedString(),
            forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw Failure(
                "\(method) \(path) answered HTTP \(status): \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return data
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = "test vhost: " + description }
    }
}

/// A counting semaphore for tasks: `acquire` waits (without blocking a thread) until one of `count` slots is
/// free.
actor AsyncSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
