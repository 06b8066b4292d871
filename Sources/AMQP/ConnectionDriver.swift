import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The connection's own thread: it alone touches the `Wire` (rabbitmq-c is blocking and not thread-safe).
/// Each turn of its loop takes commands, writes publishes while the confirm window has room, reads every
/// frame that is ready (which also services heartbeats), then sleeps in `poll` on the socket and the mailbox's
/// eventfd for at most a fraction of the heartbeat interval. When the connection fails it reconnects with
/// backoff, declares the remembered topology again, restarts consumers and republishes what was unconfirmed.
final class ConnectionDriver {
    private static let controlChannel: UInt16 = 1
    private static let publishChannel: UInt16 = 2
    private static let firstConsumerChannel: UInt16 = 3

    private struct Consumer {
        var request: ConsumerRequest
        var channel: UInt16
        var incarnation: Int
        var consumerTag: String?
        /// Delivery tags are per channel: a new incarnation starts a new coalescer.
        var acks = AckCoalescer()
    }

    /// A deliver or return whose header and body frames are still arriving.
    private struct IncomingContent {
        enum Kind {
            case delivery(
                consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String)
            case returned(replyCode: Int, replyText: String, exchange: String, routingKey: String)
        }
        var kind: Kind
        var properties = MessageProperties()
        var bodySize: UInt64?
        var body: [UInt8] = []
        var isComplete: Bool {
            guard let bodySize else { return false }
            return UInt64(body.count) >= bodySize
        }
    }

    private let configuration: AMQPConfiguration
    private let mailbox: Mailbox
    private let status: StatusBox
    /// Strong on purpose: the connection object lives as long as its thread, which runs until `close()`;
    /// every delivery handed out refers to it.
    private let owner: AMQPConnection
    private let logger: Logger

    private var wire: Wire?
    private var backlog: [Command] = []
    private var pending: [PendingPublish] = []
    private var pendingHead = 0
    private var window: ConfirmWindow<PendingPublish>
    private var topologies: [Topology] = []
    private var consumers: [Int: Consumer] = [:]
    private var consumerByChannel: [UInt16: Int] = [:]
    private var incoming: [UInt16: IncomingContent] = [:]
    /// Deliveries completed during this read of the socket, per consumer: handed over together at its end, so a
    /// busy queue costs one wake-up of the consuming task per read rather than one per message.
    private var arrived: [Int: [Delivery]] = [:]
    private var blocked = false
    private var controlChannelOpen = true
    /// Consumers settled since the last flush (their coalescers have acks to send or settled tags to drop).
    private var consumersToFlush: Set<Int> = []
    private var closing: [CheckedContinuation<Void, Never>] = []

    init(
        configuration: AMQPConfiguration, mailbox: Mailbox, status: StatusBox, owner: AMQPConnection,
        logger: Logger
    ) {
        self.configuration = configuration
        self.mailbox = mailbox
        self.status = status
        self.owner = owner
        self.logger = logger
        self.window = ConfirmWindow(capacity: configuration.confirmWindow)
    }

    // MARK: Lifecycle

    /// The first connection attempt: fails fast with a typed error rather than retrying, so a service or test
    /// pointed at a broker that is not there says so at once.
    func start() throws {
        try establish()
    }

    func run() {
        while true {
            if wire == nil {
                if !closing.isEmpty { break }
                reconnect()
                continue
            }
            do {
                try handleCommands()
                try sendFrames()
                if !closing.isEmpty && pendingCount == 0 && window.isEmpty { break }
                try readFrames()
                try waitForActivity()
            } catch {
                connectionLost(error)
            }
        }
        finish()
    }

    private func establish() throws {
        let wire = try Wire(
            Wire.Options(
                url: configuration.url, heartbeatSeconds: configuration.heartbeatSeconds,
                connectTimeout: configuration.connectTimeout, rpcTimeout: configuration.rpcTimeout,
                connectionName: configuration.connectionName))
        do {
            try wire.openChannel(Self.controlChannel)
            controlChannelOpen = true
            try wire.openChannel(Self.publishChannel)
            try wire.confirmSelect(Self.publishChannel)
            for topology in topologies {
                try declare(topology, on: wire)
            }
            for id in consumers.keys.sorted() {
                try startConsumer(id, on: wire)
            }
        } catch let closed as ChannelClosed {
            wire.close()
            throw closed.error
        }
        self.wire = wire
        status.withLock {
            $0.isConnected = true
            $0.heartbeatSeconds = wire.heartbeatSeconds
        }
    }

    private func reconnect() {
        var attempt = 0
        while closing.isEmpty {
            let delay = configuration.backoff.delay(attempt: attempt, random: Double.random(in: 0..<1))
            sleepUnlessClosed(delay)
            if !closing.isEmpty { return }
            do {
                try establish()
                let count = status.withLock { status -> Int in
                    status.recoveries += 1
                    return status.recoveries
                }
                logger.notice(
                    "AMQP connection recovered",
                    metadata: [
                        "broker": "\(configuration.url)", "attempt": "\(attempt + 1)", "recoveries": "\(count)",
                        "republishing": "\(pendingCount)",
                    ])
                return
            } catch {
                attempt += 1
                status.withLock { $0.lastError = error as? AMQPError }
                logger.warning(
                    "AMQP reconnect failed", metadata: ["broker": "\(configuration.url)", "error": "\(error)"])
            }
        }
    }

    /// Waits out a backoff delay while still noticing `close()`; other commands wait in the backlog.
    private func sleepUnlessClosed(_ delay: Duration) {
        let deadline = ContinuousClock.now + delay
        while closing.isEmpty {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return }
            _ = mailbox.wait(socket: nil, timeoutMilliseconds: Int32(max(1, min(remaining.milliseconds, 1000))))
            for command in mailbox.take() {
                switch command {
                case .close(let continuation): closing.append(continuation)
                case .dropConnection(let continuation): continuation.resume()
                default: backlog.append(command)
                }
            }
        }
    }

    private func connectionLost(_ error: any Error) {
        let amqpError = (error as? AMQPError) ?? AMQPError(.protocolError, "\(error)")
        logger.warning(
            "AMQP connection lost", metadata: ["broker": "\(configuration.url)", "error": "\(amqpError)"])
        wire = nil
        incoming.removeAll()
        // Deliveries of the lost channels can no longer be settled: the broker delivers them again.
        arrived.removeAll()
        blocked = false
        // Unconfirmed publishes go back to the front of the queue, oldest first, to be sent again.
        let unconfirmed = window.takeUnconfirmed()
        pending.replaceSubrange(pendingHead..<pendingHead, with: unconfirmed)
        for id in consumers.keys {
            consumers[id]?.incarnation += 1
            consumers[id]?.consumerTag = nil
            consumers[id]?.acks = AckCoalescer()
        }
        consumersToFlush.removeAll()
        status.withLock {
            $0.isConnected = false
            $0.isBlocked = false
            $0.lastError = amqpError
        }
    }

    private func finish() {
        wire?.close()
        wire = nil
        let closed = AMQPError(.closedByClient, "the connection was closed")
        backlog.append(contentsOf: mailbox.finish())
        for command in backlog { fail(command, closed) }
        backlog.removeAll()
        for publish in pending[pendingHead...] { publish.complete(closed) }
        pending.removeAll()
        pendingHead = 0
        for publish in window.takeUnconfirmed() { publish.complete(closed) }
        for consumer in consumers.values { consumer.request.sink.finish(throwing: nil) }
        consumers.removeAll()
        status.withLock { $0.isConnected = false }
        for continuation in closing { continuation.resume() }
    }

    // MARK: Commands

    private func handleCommands() throws {
        backlog.append(contentsOf: mailbox.take())
        guard !backlog.isEmpty else { return }
        var index = 0
        defer { backlog.removeFirst(index) }
        while index < backlog.count {
            do {
                try handle(backlog[index])
            } catch {
                // A control operation cut off by a connection failure stays in the backlog and runs again
                // after recovery; anything else has already been answered.
                if !backlog[index].isRetriedAfterRecovery { index += 1 }
                throw error
            }
            index += 1
        }
    }

    /// Sends the acks collected while handling a batch of commands, coalesced per consumer.
    /// Flushes the acks and sends the publishes the window has room for, corked, so a turn's frames leave in as
    /// few segments as the kernel can make (one wake-up of the broker rather than one per publish).
    private func sendFrames() throws {
        let corked = !consumersToFlush.isEmpty || (!blocked && pendingCount > 0 && !window.isFull)
        if corked { wire?.cork(true) }
        try flushAcks()
        try sendPublishes()
        if corked { wire?.cork(false) }
    }

    private func flushAcks() throws {
        guard !consumersToFlush.isEmpty, let wire else { return }
        for id in consumersToFlush { try flushAcks(of: id, on: wire) }
        consumersToFlush.removeAll(keepingCapacity: true)
    }

    private func flushAcks(of id: Int, on wire: Wire) throws {
        guard let channel = consumers[id]?.channel, let frames = consumers[id]?.acks.flush() else { return }
        for case .ack(let tag, let multiple) in frames {
            try wire.ack(deliveryTag: tag, multiple: multiple, channel: channel)
        }
    }

    private func handle(_ command: Command) throws {
        guard let wire else { throw AMQPError(.connectionClosed, "not connected") }
        switch command {
        case .publish(let publish):
            pending.append(publish)
        case .declare(let topology, let remember, let continuation):
            try channelOperation(continuation) {
                try declare(topology, on: wire)
                if remember { topologies.append(topology) }
            }
        case .inspect(let queue, let continuation):
            try channelOperation(continuation) { try wire.inspect(queue: queue, channel: Self.controlChannel) }
        case .delete(let queue, let continuation):
            try channelOperation(continuation) { try wire.delete(queue: queue, channel: Self.controlChannel) }
        case .purge(let queue, let continuation):
            try channelOperation(continuation) { try wire.purge(queue: queue, channel: Self.controlChannel) }
        case .consume(let request, let continuation):
            consumers[request.id] = Consumer(request: request, channel: freeConsumerChannel(), incarnation: 0)
            do {
                try startConsumer(request.id, on: wire)
                continuation.resume()
            } catch let error as AMQPError where error.isConnectionLevel {
                // Registered: recovery starts it with the others.
                continuation.resume()
                throw error
            } catch let closed as ChannelClosed {
                consumers[request.id] = nil
                consumerByChannel[closed.channel] = nil
                continuation.resume(throwing: closed.error)
            } catch let error as AMQPError where !error.isConnectionLevel {
                consumers[request.id] = nil
                continuation.resume(throwing: error)
            }
        case .cancel(let id):
            // Acks settled in this same batch go out before the channel closes; closing it would requeue them.
            do {
                try flushAcks(of: id, on: wire)
            } catch is ChannelClosed {}
            guard let consumer = consumers.removeValue(forKey: id) else { return }
            consumerByChannel[consumer.channel] = nil
            incoming[consumer.channel] = nil
            do {
                if let tag = consumer.consumerTag { try wire.cancel(consumerTag: tag, channel: consumer.channel) }
                try wire.closeChannel(consumer.channel)
            } catch is ChannelClosed {
                // Already closed by the broker: nothing left to release.
            }
            consumer.request.sink.finish(throwing: nil)
        case .settle(let id, let incarnation, let tag, let settlement):
            // A delivery from a cancelled consumer or an earlier channel cannot be settled: the broker has
            // already put it back (or will, when the channel closes) and delivers it again.
            guard let consumer = consumers[id], consumer.incarnation == incarnation, consumer.consumerTag != nil
            else {
                logger.debug(
                    "AMQP settlement of a stale delivery ignored; it will be redelivered",
                    metadata: ["delivery": "\(tag)"])
                return
            }
            if settlement == .ack {
                consumers[id]?.acks.ack(tag)
            } else {
                try wire.settle(settlement, deliveryTag: tag, channel: consumer.channel)
                consumers[id]?.acks.settledDirectly(tag)
            }
            consumersToFlush.insert(id)
        case .dropConnection(let continuation):
            wire.close()
            continuation.resume()
            throw AMQPError(.connectionClosed, "connection dropped on request")
        case .close(let continuation):
            closing.append(continuation)
        }
    }

    /// Runs a control-channel RPC. A broker refusal closes only that channel: it is reopened, and the refusal
    /// goes to the caller. A connection failure is rethrown without answering, so the command runs again
    /// after recovery.
    private func channelOperation<T>(_ continuation: CheckedContinuation<T, any Error>, _ body: () throws -> T) throws {
        if !controlChannelOpen {
            try wire?.openChannel(Self.controlChannel)
            controlChannelOpen = true
        }
        do {
            continuation.resume(returning: try body())
        } catch let closed as ChannelClosed {
            controlChannelOpen = false
            continuation.resume(throwing: closed.error)
        } catch let error as AMQPError where !error.isConnectionLevel {
            continuation.resume(throwing: error)
        }
    }

    private func declare(_ topology: Topology, on wire: Wire) throws {
        for exchange in topology.exchanges { try wire.declare(exchange, channel: Self.controlChannel) }
        for queue in topology.queues { try wire.declare(queue, channel: Self.controlChannel) }
        for binding in topology.bindings { try wire.bind(binding, channel: Self.controlChannel) }
    }

    private func freeConsumerChannel() -> UInt16 {
        var channel = Self.firstConsumerChannel
        let used = Set(consumers.values.map(\.channel))
        while used.contains(channel) { channel += 1 }
        return channel
    }

    private func startConsumer(_ id: Int, on wire: Wire) throws {
        guard var consumer = consumers[id] else { return }
        consumerByChannel[consumer.channel] = id
        try wire.openChannel(consumer.channel)
        try wire.qos(consumer.channel, prefetch: consumer.request.prefetch)
        consumer.consumerTag = try wire.consume(queue: consumer.request.queue, channel: consumer.channel)
        consumers[id] = consumer
    }

    private func fail(_ command: Command, _ error: AMQPError) {
        switch command {
        case .publish(let p): p.complete(error)
        case .declare(_, _, let c), .delete(_, let c), .purge(_, let c), .consume(_, let c):
            c.resume(throwing: error)
        case .inspect(_, let c): c.resume(throwing: error)
        case .cancel, .settle: break
        case .dropConnection(let c), .close(let c): c.resume()
        }
    }

    // MARK: Publishing

    private var pendingCount: Int { pending.count - pendingHead }

    private func sendPublishes() throws {
        guard let wire, !blocked else { return }
        while pendingHead < pending.count && !window.isFull {
            let publish = pending[pendingHead]
            try wire.publish(
                publish.message, exchange: publish.exchange, routingKey: publish.routingKey,
                channel: Self.publishChannel)
            pendingHead += 1
            window.sent(messageID: publish.message.properties.messageID ?? "", payload: publish)
        }
        if pendingHead > 1024 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    private func complete(_ settled: [(PendingPublish, ConfirmWindow<PendingPublish>.Outcome)]) {
        for (publish, outcome) in settled {
            switch outcome {
            case .confirmed:
                publish.complete(nil)
            case .returned(let code, let text):
                publish.complete(
                    AMQPError(
                        .unroutable,
                        "no queue is bound to exchange '\(publish.exchange)' for routing key '\(publish.routingKey)': \(text)",
                        replyCode: code))
            case .nacked:
                publish.complete(
                    AMQPError(
                        .publishNacked,
                        "the broker refused responsibility for the message to '\(publish.exchange)' (a full queue with reject-publish, or an internal error)"
                    ))
            }
        }
    }

    // MARK: Reading

    private func readFrames() throws {
        guard let wire else { return }
        var frames = 0
        while frames < 4096, let frame = try wire.nextFrame() {
            frames += 1
            try handle(frame, on: wire)
        }
        if frames > 0 { wire.releaseBuffers() }
        handOverArrived()
    }

    private func handOverArrived() {
        guard !arrived.isEmpty else { return }
        for (id, deliveries) in arrived { consumers[id]?.request.sink.append(deliveries) }
        arrived.removeAll(keepingCapacity: true)
    }

    private func handle(_ frame: InboundFrame, on wire: Wire) throws {
        switch frame {
        case .deliver(let channel, let consumerTag, let deliveryTag, let redelivered, let exchange, let routingKey):
            incoming[channel] = IncomingContent(
                kind: .delivery(
                    consumerTag: consumerTag, deliveryTag: deliveryTag, redelivered: redelivered, exchange: exchange,
                    routingKey: routingKey))
        case .basicReturn(let channel, let replyCode, let replyText, let exchange, let routingKey):
            incoming[channel] = IncomingContent(
                kind: .returned(replyCode: replyCode, replyText: replyText, exchange: exchange, routingKey: routingKey))
        case .header(let channel, let bodySize, let properties):
            incoming[channel]?.properties = properties
            incoming[channel]?.bodySize = bodySize
            completeContent(on: channel)
        case .body(let channel, let bytes):
            incoming[channel]?.body.append(contentsOf: bytes)
            completeContent(on: channel)
        case .ack(let channel, let tag, let multiple) where channel == Self.publishChannel:
            complete(window.acked(tag: tag, multiple: multiple))
        case .nack(let channel, let tag, let multiple) where channel == Self.publishChannel:
            complete(window.nacked(tag: tag, multiple: multiple))
        case .ack, .nack:
            break
        case .cancel(let channel, _):
            handOverArrived()
            if let id = consumerByChannel.removeValue(forKey: channel), let consumer = consumers.removeValue(forKey: id)
            {
                consumer.request.sink.finish(
                    throwing: AMQPError(
                        .consumerCancelled, "the broker cancelled the consumer of queue '\(consumer.request.queue)'"))
                try? wire.closeChannel(channel)
            }
        case .channelClose(let channel, let error):
            wire.replyChannelCloseOK(channel)
            try channelClosed(channel, error, on: wire)
        case .connectionClose(let error):
            wire.replyConnectionCloseOK()
            throw error
        case .blocked(let reason):
            blocked = true
            status.withLock { $0.isBlocked = true }
            logger.warning("AMQP connection blocked by the broker", metadata: ["reason": "\(reason)"])
        case .unblocked:
            blocked = false
            status.withLock { $0.isBlocked = false }
            logger.notice("AMQP connection unblocked")
        case .other:
            break
        }
    }

    private func completeContent(on channel: UInt16) {
        guard let content = incoming[channel], content.isComplete else { return }
        incoming[channel] = nil
        switch content.kind {
        case .returned(let replyCode, let replyText, _, _):
            window.returned(
                messageID: content.properties.messageID ?? "", replyCode: replyCode, replyText: replyText)
        case .delivery(_, let deliveryTag, let redelivered, let exchange, let routingKey):
            guard let id = consumerByChannel[channel], let consumer = consumers[id] else { return }
            consumers[id]?.acks.delivered(deliveryTag)
            arrived[id, default: []].append(
                Delivery(
                    body: content.body, properties: content.properties, exchange: exchange, routingKey: routingKey,
                    redelivered: redelivered, queue: consumer.request.queue, deliveryTag: deliveryTag,
                    consumerID: id, channelIncarnation: consumer.incarnation, settler: owner))
        }
    }

    /// A channel the broker closed asynchronously. The publish channel: what was in flight on it has an
    /// unknown fate, so it fails with the broker's reason (callers may publish again; consumers deduplicate by
    /// message id). A consumer channel: unacknowledged deliveries go back to the queue and the consumer restarts,
    /// unless the refusal is permanent (access refused, queue gone), which ends its stream with the error.
    private func channelClosed(_ channel: UInt16, _ error: AMQPError, on wire: Wire) throws {
        logger.warning("AMQP channel closed by the broker", metadata: ["channel": "\(channel)", "error": "\(error)"])
        incoming[channel] = nil
        if channel == Self.publishChannel {
            for publish in window.takeUnconfirmed() { publish.complete(error) }
            try wire.openChannel(channel)
            try wire.confirmSelect(channel)
        } else if channel == Self.controlChannel {
            controlChannelOpen = false
        } else if let id = consumerByChannel[channel], var consumer = consumers[id] {
            arrived[id] = nil
            consumer.incarnation += 1
            consumer.consumerTag = nil
            consumer.acks = AckCoalescer()
            consumers[id] = consumer
            if error.code == .accessRefused || error.code == .notFound {
                consumers[id] = nil
                consumerByChannel[channel] = nil
                consumer.request.sink.finish(throwing: error)
            } else {
                do {
                    try startConsumer(id, on: wire)
                } catch let closed as ChannelClosed {
                    consumers[id] = nil
                    consumerByChannel[channel] = nil
                    consumer.request.sink.finish(throwing: closed.error)
                }
            }
        }
    }

    private func waitForActivity() throws {
        guard let wire else { return }
        if wire.hasBufferedInput || !backlog.isEmpty || (pendingCount > 0 && !window.isFull && !blocked) {
            return
        }
        // Wake at least four times per heartbeat interval so our heartbeats go out in time.
        let heartbeat = wire.heartbeatSeconds
        let timeout: Int32 = heartbeat > 0 ? Int32(min(250, heartbeat * 250)) : 250
        let ready = mailbox.wait(socket: wire.socketDescriptor, timeoutMilliseconds: timeout)
        if ready < 0 && errno != EINTR {
            throw AMQPError(.connectionClosed, "poll failed: \(String(cString: strerror(errno)))")
        }
    }
}

extension Command {
    fileprivate var isRetriedAfterRecovery: Bool {
        switch self {
        case .declare, .inspect, .delete, .purge: return true
        default: return false
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
