import CRabbitMQ
import Foundation

/// A frame read from the broker, decoded into Swift values (frames live in rabbitmq-c's pool only until the
/// next release, so everything is copied out here).
enum InboundFrame {
    case deliver(
        channel: UInt16, consumerTag: String, deliveryTag: UInt64, redelivered: Bool, exchange: String,
        routingKey: String)
    case basicReturn(channel: UInt16, replyCode: Int, replyText: String, exchange: String, routingKey: String)
    case ack(channel: UInt16, tag: UInt64, multiple: Bool)
    case nack(channel: UInt16, tag: UInt64, multiple: Bool)
    case cancel(channel: UInt16, consumerTag: String)
    case channelClose(channel: UInt16, error: AMQPError)
    case connectionClose(error: AMQPError)
    case blocked(reason: String)
    case unblocked
    case header(channel: UInt16, bodySize: UInt64, properties: MessageProperties)
    case body(channel: UInt16, bytes: [UInt8])
    case other
}

/// One rabbitmq-c connection. Not thread-safe, like the library: only the connection's own thread uses it.
/// Every pointer into rabbitmq-c has this object as its one owner; `deinit` destroys the connection.
final class Wire {
    private let state: amqp_connection_state_t
    private(set) var isOpen = false
    let heartbeatSeconds: Int

    struct Options {
        var url: AMQPURL
        var heartbeatSeconds: Int
        var connectTimeout: Duration
        var rpcTimeout: Duration
        var connectionName: String
    }

    init(_ options: Options) throws {
        let url = options.url
        guard let state = amqp_new_connection() else {
            throw AMQPError(.protocolError, "rabbitmq-c could not allocate a connection")
        }
        self.state = state
        let socket: OpaquePointer?
        if url.tls {
            socket = amqp_ssl_socket_new(state)
            guard let socket else {
                amqp_destroy_connection(state)
                throw AMQPError(.tlsFailed, "could not create a TLS socket for \(url)")
            }
            if let ca = url.caCertificateFile {
                let status = amqp_ssl_socket_set_cacert(socket, ca)
                if status != AMQP_STATUS_OK.rawValue {
                    amqp_destroy_connection(state)
                    throw AMQPError(.tlsFailed, "cannot load CA certificate \(ca): \(Wire.text(status))")
                }
            }
            if let cert = url.certificateFile, let key = url.keyFile {
                let status = amqp_ssl_socket_set_key(socket, cert, key)
                if status != AMQP_STATUS_OK.rawValue {
                    amqp_destroy_connection(state)
                    throw AMQPError(
                        .tlsFailed, "cannot load client certificate \(cert) with key \(key): \(Wire.text(status))")
                }
            }
            amqp_ssl_socket_set_verify_peer(socket, url.verifyPeer ? 1 : 0)
            amqp_ssl_socket_set_verify_hostname(socket, url.verifyPeer ? 1 : 0)
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else {
            amqp_destroy_connection(state)
            throw AMQPError(.connectionFailed, "could not create a socket for \(url)")
        }
        var timeout = Wire.timeval(options.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        if opened != AMQP_STATUS_OK.rawValue {
            amqp_destroy_connection(state)
            throw Wire.openError(opened, url: url)
        }
        if mash_socket_is_self_connected(amqp_get_sockfd(state)) != 0 {
            amqp_destroy_connection(state)
            throw AMQPError(
                .connectionFailed, "connecting to \(url.host):\(url.port): connection refused (nothing listening)")
        }
        var rpcTimeout = Wire.timeval(options.rpcTimeout)
        _ = amqp_set_handshake_timeout(state, &rpcTimeout)
        _ = amqp_set_rpc_timeout(state, &rpcTimeout)

        let reply = mash_login(
            state, url.vhost, Int32(options.heartbeatSeconds), url.user, url.password, options.connectionName,
            url.externalAuthentication ? 1 : 0)
        if reply.reply_type != AMQP_RESPONSE_NORMAL {
            let error = Wire.loginError(reply, url: url)
            amqp_destroy_connection(state)
            throw error
        }
        heartbeatSeconds = Int(amqp_get_heartbeat(state))
        isOpen = true
    }

    deinit {
        amqp_destroy_connection(state)
    }

    var socketDescriptor: Int32 { amqp_get_sockfd(state) }

    /// TCP_CORK on or off: while on, the kernel holds partial segments; turning it off sends what is held.
    func cork(_ on: Bool) {
        var value: Int32 = on ? 1 : 0
        _ = setsockopt(socketDescriptor, Int32(IPPROTO_TCP), TCP_CORK, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// True when rabbitmq-c already holds input that a read would return without touching the socket.
    var hasBufferedInput: Bool { amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0 }

    // MARK: Channels and topology (synchronous RPCs; frames for other channels are queued by rabbitmq-c)

    func openChannel(_ channel: UInt16) throws {
        _ = amqp_channel_open(state, channel)
        try check(channel: channel, "opening channel \(channel)")
    }

    func closeChannel(_ channel: UInt16) throws {
        let reply = amqp_channel_close(state, channel, AMQP_REPLY_SUCCESS)
        try check(reply, channel: channel, "closing channel \(channel)")
    }

    func confirmSelect(_ channel: UInt16) throws {
        _ = amqp_confirm_select(state, channel)
        try check(channel: channel, "enabling publisher confirms on channel \(channel)")
    }

    func qos(_ channel: UInt16, prefetch: UInt16) throws {
        _ = amqp_basic_qos(state, channel, 0, prefetch, 0)
        try check(channel: channel, "setting prefetch \(prefetch) on channel \(channel)")
    }

    func declare(_ exchange: Topology.Exchange, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_exchange_declare(
            state, channel, arena.bytes(exchange.name), arena.bytes(exchange.type), 0, exchange.durable ? 1 : 0, 0,
            0, try arena.table(exchange.arguments))
        try check(channel: channel, "declaring exchange '\(exchange.name)'")
    }

    func declare(_ queue: Topology.Queue, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_queue_declare(
            state, channel, arena.bytes(queue.name), 0, queue.durable ? 1 : 0, 0, 0, try arena.table(queue.arguments))
        try check(channel: channel, "declaring queue '\(queue.name)'")
    }

    func bind(_ binding: Topology.Binding, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_queue_bind(
            state, channel, arena.bytes(binding.queue), arena.bytes(binding.exchange), arena.bytes(binding.routingKey),
            amqp_empty_table)
        try check(channel: channel, "binding queue '\(binding.queue)' to exchange '\(binding.exchange)'")
    }

    /// A passive declare: the queue's depth and consumer count, or `notFound`.
    func inspect(queue: String, channel: UInt16) throws -> QueueState {
        let arena = Arena()
        let ok = amqp_queue_declare(state, channel, arena.bytes(queue), 1, 0, 0, 0, amqp_empty_table)
        try check(channel: channel, "inspecting queue '\(queue)'")
        guard let ok else { throw AMQPError(.protocolError, "no declare-ok for queue '\(queue)'") }
        return QueueState(
            name: queue, messageCount: Int(ok.pointee.message_count), consumerCount: Int(ok.pointee.consumer_count))
    }

    func delete(queue: String, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_queue_delete(state, channel, arena.bytes(queue), 0, 0)
        try check(channel: channel, "deleting queue '\(queue)'")
    }

    func purge(queue: String, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_queue_purge(state, channel, arena.bytes(queue))
        try check(channel: channel, "purging queue '\(queue)'")
    }

    /// Starts a consumer and returns the broker-assigned consumer tag.
    func consume(queue: String, channel: UInt16) throws -> String {
        let arena = Arena()
        let ok = amqp_basic_consume(state, channel, arena.bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table)
        try check(channel: channel, "consuming from queue '\(queue)'")
        guard let ok else { throw AMQPError(.protocolError, "no consume-ok for queue '\(queue)'") }
        return Wire.string(ok.pointee.consumer_tag)
    }

    func cancel(consumerTag: String, channel: UInt16) throws {
        let arena = Arena()
        _ = amqp_basic_cancel(state, channel, arena.bytes(consumerTag))
        try check(channel: channel, "cancelling consumer '\(consumerTag)'")
    }

    // MARK: Asynchronous methods (no reply; failures arrive later as channel.close)

    func publish(_ message: OutboundMessage, exchange: String, routingKey: String, channel: UInt16) throws {
        let arena = Arena()
        var properties = try arena.properties(message.properties)
        let status = message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                state, channel, arena.bytes(exchange), arena.bytes(routingKey), 1, 0, &properties,
                mash_bytes(body.baseAddress, body.count))
        }
        try check(status: status, "publishing to exchange '\(exchange)'")
    }

    func settle(_ settlement: Settlement, deliveryTag: UInt64, channel: UInt16) throws {
        let status: Int32
        switch settlement {
        case .ack: return try ack(deliveryTag: deliveryTag, multiple: false, channel: channel)
        case .nack(let requeue): status = amqp_basic_nack(state, channel, deliveryTag, 0, requeue ? 1 : 0)
        case .reject(let requeue): status = amqp_basic_reject(state, channel, deliveryTag, requeue ? 1 : 0)
        }
        try check(status: status, "settling delivery \(deliveryTag) on channel \(channel)")
    }

    func ack(deliveryTag: UInt64, multiple: Bool, channel: UInt16) throws {
        try check(
            status: amqp_basic_ack(state, channel, deliveryTag, multiple ? 1 : 0),
            "acknowledging up to delivery \(deliveryTag)")
    }

    func replyChannelCloseOK(_ channel: UInt16) {
        var ok = amqp_channel_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, channel, mash_method_channel_close_ok, &ok)
    }

    func replyConnectionCloseOK() {
        var ok = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, 0, mash_method_connection_close_ok, &ok)
        isOpen = false
    }

    /// Closes the connection politely (connection.close and its ok). Errors are ignored: we are leaving.
    func close() {
        guard isOpen else { return }
        isOpen = false
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
    }

    // MARK: Reading

    /// Reads one frame if one can be read without blocking, servicing heartbeats as a side effect
    /// (rabbitmq-c sends ours when due and reports the broker's silence as a heartbeat timeout).
    func nextFrame() throws -> InboundFrame? {
        var frame = amqp_frame_t()
        var immediate = mash_timeval(0, 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &immediate)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        try check(status: status, "reading from the broker")
        defer { amqp_maybe_release_buffers_on_channel(state, frame.channel) }
        return decode(frame)
    }

    func releaseBuffers() {
        amqp_maybe_release_buffers(state)
    }

    private func decode(_ frame: amqp_frame_t) -> InboundFrame {
        let channel = frame.channel
        switch Int32(frame.frame_type) {
        case AMQP_FRAME_METHOD:
            return decodeMethod(frame.payload.method, channel: channel)
        case AMQP_FRAME_HEADER:
            let raw = frame.payload.properties.decoded.assumingMemoryBound(to: amqp_basic_properties_t.self)
            return .header(
                channel: channel, bodySize: frame.payload.properties.body_size,
                properties: Wire.properties(raw.pointee))
        case AMQP_FRAME_BODY:
            return .body(channel: channel, bytes: Wire.bytes(frame.payload.body_fragment))
        default:
            return .other
        }
    }

    private func decodeMethod(_ method: amqp_method_t, channel: UInt16) -> InboundFrame {
        let decoded = method.decoded
        switch method.id {
        case mash_method_basic_deliver:
            let m = decoded!.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
            return .deliver(
                channel: channel, consumerTag: Wire.string(m.consumer_tag), deliveryTag: m.delivery_tag,
                redelivered: m.redelivered != 0, exchange: Wire.string(m.exchange),
                routingKey: Wire.string(m.routing_key))
        case mash_method_basic_ack:
            let m = decoded!.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .ack(channel: channel, tag: m.delivery_tag, multiple: m.multiple != 0)
        case mash_method_basic_nack:
            let m = decoded!.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .nack(channel: channel, tag: m.delivery_tag, multiple: m.multiple != 0)
        case mash_method_basic_return:
            let m = decoded!.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            return .basicReturn(
                channel: channel, replyCode: Int(m.reply_code), replyText: Wire.string(m.reply_text),
                exchange: Wire.string(m.exchange), routingKey: Wire.string(m.routing_key))
        case mash_method_basic_cancel:
            let m = decoded!.assumingMemoryBound(to: amqp_basic_cancel_t.self).pointee
            return .cancel(channel: channel, consumerTag: Wire.string(m.consumer_tag))
        case mash_method_channel_close:
            let m = decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            return .channelClose(
                channel: channel,
                error: AMQPError.brokerRefusal(
                    replyCode: Int(m.reply_code), text: Wire.string(m.reply_text), context: "channel \(channel) closed")
            )
        case mash_method_connection_close:
            let m = decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return .connectionClose(
                error: AMQPError(
                    .connectionClosed, "the broker closed the connection: \(Wire.string(m.reply_text))",
                    replyCode: Int(m.reply_code)))
        case mash_method_connection_blocked:
            let m = decoded!.assumingMemoryBound(to: amqp_connection_blocked_t.self).pointee
            return .blocked(reason: Wire.string(m.reason))
        case mash_method_connection_unblocked:
            return .unblocked
        default:
            return .other
        }
    }

    // MARK: Errors

    private func check(status: Int32, _ context: String) throws {
        if status == AMQP_STATUS_OK.rawValue { return }
        isOpen = false
        throw Wire.libraryError(status, context)
    }

    private func check(channel: UInt16, _ context: String) throws {
        try check(amqp_get_rpc_reply(state), channel: channel, context)
    }

    /// Turns an RPC reply into a typed error. A channel refusal is answered with close-ok here, so the caller
    /// only has to reopen the channel; a connection refusal leaves the connection unusable.
    private func check(_ reply: amqp_rpc_reply_t, channel: UInt16, _ context: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            isOpen = false
            throw Wire.libraryError(reply.library_error, context)
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if reply.reply.id == mash_method_channel_close {
                let m = reply.reply.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                replyChannelCloseOK(channel)
                throw ChannelClosed(
                    channel: channel,
                    error: AMQPError.brokerRefusal(
                        replyCode: Int(m.reply_code), text: Wire.string(m.reply_text), context: context))
            }
            if reply.reply.id == mash_method_connection_close {
                let m = reply.reply.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                replyConnectionCloseOK()
                throw AMQPError(
                    .connectionClosed, "\(context): the broker closed the connection: \(Wire.string(m.reply_text))",
                    replyCode: Int(m.reply_code))
            }
            isOpen = false
            throw AMQPError(.protocolError, "\(context): unexpected method 0x\(String(reply.reply.id, radix: 16))")
        default:
            isOpen = false
            throw AMQPError(.protocolError, "\(context): no reply")
        }
    }

    static func text(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status > 0 ? -status : status))
    }

    static func libraryError(_ rawStatus: Int32, _ context: String) -> AMQPError {
        let status = rawStatus > 0 ? -rawStatus : rawStatus
        let message = "\(context): \(text(status))"
        switch status {
        case AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue:
            return AMQPError(.heartbeatTimeout, message)
        case AMQP_STATUS_SSL_ERROR.rawValue, AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue,
            AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue, AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue:
            return AMQPError(.tlsFailed, message)
        case AMQP_STATUS_CONNECTION_CLOSED.rawValue, AMQP_STATUS_SOCKET_ERROR.rawValue,
            AMQP_STATUS_SOCKET_CLOSED.rawValue, AMQP_STATUS_TIMEOUT.rawValue:
            return AMQPError(.connectionClosed, message)
        case AMQP_STATUS_TABLE_TOO_BIG.rawValue, AMQP_STATUS_INVALID_PARAMETER.rawValue:
            return AMQPError(.invalidMessage, message)
        default:
            return AMQPError(.protocolError, message)
        }
    }

    private static func openError(_ status: Int32, url: AMQPURL) -> AMQPError {
        let error = libraryError(status, "connecting to \(url.host):\(url.port)")
        switch error.code {
        case .tlsFailed:
            return AMQPError(
                .tlsFailed,
                error.message
                    + " (check that the CA file \(url.caCertificateFile ?? "(system default)") signed the broker's certificate and that it names \(url.host))"
            )
        default:
            return AMQPError(.connectionFailed, error.message)
        }
    }

    private static func loginError(_ reply: amqp_rpc_reply_t, url: AMQPURL) -> AMQPError {
        if reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION, reply.reply.id == mash_method_connection_close {
            let m = reply.reply.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            return AMQPError(
                .authenticationFailed,
                "logging in as '\(url.user)' to vhost '\(url.vhost)' at \(url.host):\(url.port): \(string(m.reply_text))",
                replyCode: Int(m.reply_code))
        }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
            let error = libraryError(reply.library_error, "logging in to \(url.host):\(url.port)")
            return error.code == .tlsFailed ? error : AMQPError(.connectionFailed, error.message)
        }
        return AMQPError(.protocolError, "logging in to \(url.host):\(url.port): unexpected reply")
    }

    // MARK: Conversions

    static func timeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return mash_timeval(Int(seconds), Int(attoseconds / 1_000_000_000_000))
    }

    static func string(_ bytes: amqp_bytes_t) -> String {
        guard bytes.len > 0, let base = bytes.bytes else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: bytes.len), as: UTF8.self)
    }

    static func bytes(_ bytes: amqp_bytes_t) -> [UInt8] {
        guard bytes.len > 0, let base = bytes.bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: bytes.len))
    }

    static func properties(_ p: amqp_basic_properties_t) -> MessageProperties {
        let flags = p._flags
        func has(_ flag: amqp_flags_t) -> Bool { flags & flag != 0 }
        var result = MessageProperties(persistent: has(mash_flag_delivery_mode) && p.delivery_mode == 2)
        if has(mash_flag_message_id) { result.messageID = string(p.message_id) }
        if has(mash_flag_correlation_id) { result.correlationID = string(p.correlation_id) }
        if has(mash_flag_type) { result.type = string(p.type) }
        if has(mash_flag_content_type) { result.contentType = string(p.content_type) }
        if has(mash_flag_reply_to) { result.replyTo = string(p.reply_to) }
        if has(mash_flag_app_id) { result.appID = string(p.app_id) }
        if has(mash_flag_expiration) { result.expiration = string(p.expiration) }
        if has(mash_flag_timestamp) { result.timestamp = p.timestamp }
        if has(mash_flag_headers) { result.headers = table(p.headers) }
        return result
    }

    static func table(_ table: amqp_table_t) -> [String: AMQPValue] {
        var result: [String: AMQPValue] = [:]
        for i in 0..<Int(max(table.num_entries, 0)) {
            let entry = table.entries[i]
            result[string(entry.key)] = value(entry.value)
        }
        return result
    }

    static func value(_ v: amqp_field_value_t) -> AMQPValue {
        switch UInt32(v.kind) {
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: return .bool(v.value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: return .int(Int64(v.value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: return .int(Int64(v.value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: return .int(Int64(v.value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: return .int(Int64(v.value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: return .int(Int64(v.value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: return .int(Int64(v.value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: return .int(v.value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: return .int(Int64(bitPattern: v.value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: return .double(Double(v.value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: return .double(v.value.f64)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: return .timestamp(v.value.u64)
        case AMQP_FIELD_KIND_UTF8.rawValue: return .string(string(v.value.bytes))
        case AMQP_FIELD_KIND_BYTES.rawValue: return .bytes(bytes(v.value.bytes))
        case AMQP_FIELD_KIND_TABLE.rawValue: return .table(table(v.value.table))
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            let array = v.value.array
            return .array((0..<Int(max(array.num_entries, 0))).map { value(array.entries[$0]) })
        case AMQP_FIELD_KIND_DECIMAL.rawValue:
            let d = v.value.decimal
            var scaled = Double(d.value)
            for _ in 0..<d.decimals { scaled /= 10 }
            return .double(scaled)
        default: return .void
        }
    }
}

/// A refusal that closed one channel (the connection lives on). Reported to callers as its `error`.
struct ChannelClosed: Error {
    var channel: UInt16
    var error: AMQPError
}

/// The depth and consumers of a queue, from a passive declare.
public struct QueueState: Sendable, Equatable {
    public var name: String
    public var messageCount: Int
    public var consumerCount: Int
}

/// C memory for one outgoing call (strings, tables, properties), freed when the arena goes: rabbitmq-c only
/// borrows these pointers for the duration of the call.
private final class Arena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Array(string.utf8))
    }

    func bytes(_ array: [UInt8]) -> amqp_bytes_t {
        guard !array.isEmpty else { return amqp_empty_bytes }
        let pointer = malloc(array.count)!
        allocations.append(pointer)
        array.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: array.count) }
        return mash_bytes(pointer, array.count)
    }

    func table(_ dictionary: [String: AMQPValue]) throws -> amqp_table_t {
        guard !dictionary.isEmpty else { return amqp_empty_table }
        let entries = allocate(amqp_table_entry_t.self, count: dictionary.count)
        for (i, key) in dictionary.keys.sorted().enumerated() {
            entries[i] = amqp_table_entry_t(key: bytes(key), value: try fieldValue(dictionary[key]!))
        }
        return amqp_table_t(num_entries: Int32(dictionary.count), entries: entries)
    }

    func fieldValue(_ value: AMQPValue) throws -> amqp_field_value_t {
        var v = amqp_field_value_t()
        switch value {
        case .string(let s):
            v.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            v.value.bytes = bytes(s)
        case .bytes(let b):
            v.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            v.value.bytes = bytes(b)
        case .int(let i):
            v.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            v.value.i64 = i
        case .bool(let b):
            v.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            v.value.boolean = b ? 1 : 0
        case .double(let d):
            v.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            v.value.f64 = d
        case .timestamp(let t):
            v.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            v.value.u64 = t
        case .table(let t):
            v.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            v.value.table = try table(t)
        case .array(let a):
            v.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            let entries = allocate(amqp_field_value_t.self, count: max(a.count, 1))
            for (i, element) in a.enumerated() { entries[i] = try fieldValue(element) }
            v.value.array = amqp_array_t(num_entries: Int32(a.count), entries: entries)
        case .void:
            v.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return v
    }

    func properties(_ p: MessageProperties) throws -> amqp_basic_properties_t {
        var result = amqp_basic_properties_t()
        var flags: amqp_flags_t = mash_flag_delivery_mode
        result.delivery_mode = p.persistent ? 2 : 1
        func set(_ value: String?, _ flag: amqp_flags_t, _ assign: (amqp_bytes_t) -> Void) {
            guard let value else { return }
            flags |= flag
            assign(bytes(value))
        }
        set(p.messageID, mash_flag_message_id) { result.message_id = $0 }
        set(p.correlationID, mash_flag_correlation_id) { result.correlation_id = $0 }
        set(p.type, mash_flag_type) { result.type = $0 }
        set(p.contentType, mash_flag_content_type) { result.content_type = $0 }
        set(p.replyTo, mash_flag_reply_to) { result.reply_to = $0 }
        set(p.appID, mash_flag_app_id) { result.app_id = $0 }
        set(p.expiration, mash_flag_expiration) { result.expiration = $0 }
        if let timestamp = p.timestamp {
            flags |= mash_flag_timestamp
            result.timestamp = timestamp
        }
        if !p.headers.isEmpty {
            flags |= mash_flag_headers
            result.headers = try table(p.headers)
        }
        result._flags = flags
        return result
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(count, MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }
}
