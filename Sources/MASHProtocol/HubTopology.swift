import AMQP

extension HubQueues {
    /// The hub's topology: the definitions file's, plus a queue (with its DLQ) for each of `agencies` that the
    /// definitions do not list, and one for each school's Encompass notices and each front-door portal's
    /// notices (bound to `mash.notices` by its own name). `mashctl` reports the same queues the coordinator declares.
    public static func topology(
        definitionsFile: String, vhost: String, agencies: [String], schoolQueues: [String] = [],
        authorities: [String] = [], portals: [String] = []
    ) throws -> Topology {
        var topology = try Topology(rabbitMQDefinitionsFile: definitionsFile, vhost: vhost)
        let declared = Set(topology.queues.map(\.name))
        /// An input queue as the definitions declare theirs: quorum, delivery limit, its own DLQ.
        func add(_ queue: String, boundTo exchange: String, routingKey: String) {
            guard !declared.contains(queue) else { return }
            topology.queues += [
                .quorum(queue, deliveryLimit: 5, deadLetterExchange: HubQueues.deadLetterExchange),
                .deadLetters(of: queue),
            ]
            topology.bindings += [
                Topology.Binding(exchange: exchange, queue: queue, routingKey: routingKey),
                Topology.Binding(exchange: HubQueues.deadLetterExchange, queue: queue + ".dlq", routingKey: queue),
            ]
        }
        for agency in agencies.sorted() {
            add(HubQueues.agency(agency), boundTo: HubQueues.enquiriesExchange, routingKey: agency)
        }
        for queue in schoolQueues.sorted() { add(queue, boundTo: HubQueues.noticesExchange, routingKey: queue) }
        for portal in portals.sorted() {
            let queue = HubQueues.portalNotices(of: portal)
            add(queue, boundTo: HubQueues.noticesExchange, routingKey: queue)
        }
        for authority in authorities.sorted() {
            add("authority.\(authority).outbound", boundTo: HubQueues.authoritiesExchange, routingKey: authority)
        }
        return topology
    }
}
