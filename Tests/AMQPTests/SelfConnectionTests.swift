import CRabbitMQ
import Foundation
import Testing

/// A client retrying a local broker that is down can be handed the broker's own port as its ephemeral source
/// and connect to itself; the connection then squats the port and the broker cannot listen when it restarts
/// (a fresh-clone CI run lost a kill -9 test to exactly that). `Wire` refuses such a socket at once.
@Suite("Self-connected sockets")
struct SelfConnectionTests {
    @Test("a socket connected to its own address is recognised; a connection to a listener is not")
    func recognised() throws {
        let listener = try LoopbackSocket()
        try listener.bind(port: 0)
        #expect(listen(listener.fd, 1) == 0)
        let listenerPort = try listener.port()

        let client = try LoopbackSocket()
        try client.connect(port: listenerPort)
        #expect(mash_socket_is_self_connected(client.fd) == 0)

        // Bind a socket to a free port, then connect it to that same address: TCP simultaneous open.
        let probe = try LoopbackSocket()
        try probe.bind(port: 0)
        let ownPort = try probe.port()
        try probe.connect(port: ownPort)
        #expect(mash_socket_is_self_connected(probe.fd) == 1)
    }
}

private final class LoopbackSocket {
    let fd: Int32

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    deinit { close(fd) }

    func bind(port: UInt16) throws {
        var address = Self.loopback(port: port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    func connect(port: UInt16) throws {
        var address = Self.loopback(port: port)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    func port() throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
