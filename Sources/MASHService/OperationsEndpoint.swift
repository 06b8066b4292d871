import ArgumentParser
import Foundation
import Logging
import MASHCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `/health` reports: `ok` (HTTP 200) or `failing` (HTTP 503), with one line per check. Checks hold
/// states and counts only, never personal data.
public struct HealthReport: Sendable, Equatable {
    public struct Check: Sendable, Equatable {
        public var name: String
        public var healthy: Bool
        public var detail: String

        public init(_ name: String, healthy: Bool, _ detail: String) {
            self.name = name
            self.healthy = healthy
            self.detail = detail
        }
    }

    public var checks: [Check]

    public init(_ checks: [Check]) { self.checks = checks }

    public var healthy: Bool { checks.allSatisfy(\.healthy) }

    public var json: [UInt8] {
        var items: [String: Any] = [:]
        for check in checks { items[check.name] = ["healthy": check.healthy, "detail": check.detail] }
        return DocumentWriter.encode(["status": healthy ? "ok" : "failing", "checks": items]) + [10]
    }
}

/// A service's operations port: `GET /metrics` (Prometheus text format) and `GET /health` (JSON), on a local
/// address only. One thread, one short request at a time, `Connection: close`: scrapes come every few seconds
/// from one Prometheus and the odd `curl`, so this needs no HTTP framework.
public final class OperationsEndpoint: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The port actually bound (useful when asked for port 0).
    public let port: Int

    public let host: String

    public var url: String { "http://\(host):\(port)" }
    private let socket: Int32
    private let metrics: @Sendable () -> [UInt8]
    private let health: @Sendable () -> HealthReport

    /// Binds `host:port` (port 0 picks a free one) and serves until `close()`.
    public init(
        host: String = "127.0.0.1", port: Int, metrics: @escaping @Sendable () -> [UInt8],
        health: @escaping @Sendable () -> HealthReport
    ) throws {
        self.metrics = metrics
        self.health = health
        self.host = host
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "operations port: socket() failed (errno \(errno))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            Glibc.close(fd)
            throw Failure(description: "operations port: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Failure(
                description: "operations port: cannot listen on \(host):\(port): \(String(cString: strerror(code)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        socket = fd
        let thread = Thread { [self] in serve() }
        thread.name = "operations-endpoint"
        thread.start()
    }

    /// Stops serving: the listening socket is shut down and the thread returns.
    public func close() {
        shutdown(socket, Int32(SHUT_RDWR))
        Glibc.close(socket)
    }

    private func serve() {
        while true {
            let client = accept(socket, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            answer(client)
            Glibc.close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192, !request.containsHeaderEnd {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { break }
            request += buffer[0..<count]
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let (status, type, body): (String, String, [UInt8])
        if parts.count < 2 || parts[0] != "GET" {
            (status, type, body) = ("405 Method Not Allowed", "text/plain", Array("GET only\n".utf8))
        } else {
            switch parts[1].split(separator: "?").first.map(String.init) ?? "" {
            case "/metrics":
                (status, type, body) = ("200 OK", "text/plain; version=0.0.4; charset=utf-8", metrics())
            case "/health":
                let report = health()
                (status, type, body) = (
                    report.healthy ? "200 OK" : "503 Service Unavailable", "application/json", report.json
                )
            default:
                (status, type, body) = ("404 Not Found", "text/plain", Array("try /metrics or /health\n".utf8))
            }
        }
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var response = Array(head.utf8) + body
        var sent = 0
        while sent < response.count {
            // MSG_NOSIGNAL: a scraper that hangs up early must not raise SIGPIPE and end the service.
            let count = response.withUnsafeMutableBytes {
                send(client, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count <= 0 { return }
            sent += count
        }
    }
}

extension [UInt8] {
    fileprivate var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for index in 0...(count - 4) where self[index] == 13 && self[index + 1] == 10 {
            if self[index + 2] == 13 && self[index + 3] == 10 { return true }
        }
        return false
    }
}

/// `--operations-port`: a port number (0 picks a free one) or `off`.
public struct OperationsPort: ExpressibleByArgument, Sendable {
    public var port: Int?

    public init?(argument: String) {
        if argument == "off" {
            port = nil
        } else if let number = Int(argument), (0...65535).contains(number) {
            port = number
        } else {
            return nil
        }
    }

    public init(_ port: Int?) { self.port = port }

    public var defaultValueDescription: String { port.map(String.init) ?? "off" }
}
