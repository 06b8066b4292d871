import Foundation

/// A parsed `amqp://` or `amqps://` URL, following RabbitMQ's URI specification: user and password are
/// percent-decoded, the path is the vhost (`/mash` is `mash`, `/%2F` and an empty path are `/`), and the query
/// carries options: `heartbeat` (seconds), `connection_timeout` (milliseconds), `cacertfile`, `certfile`,
/// `keyfile`, `verify` (`verify_peer` or `verify_none`), `auth_mechanism` (`plain` or `external`).
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var tls: Bool
    public var host: String
    public var port: Int
    public var vhost: String
    public var user: String
    public var password: String
    public var heartbeatSeconds: Int?
    public var connectionTimeoutMilliseconds: Int?
    public var caCertificateFile: String?
    public var certificateFile: String?
    public var keyFile: String?
    public var verifyPeer: Bool
    public var externalAuthentication: Bool

    public init(_ string: String) throws {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased() else {
            throw AMQPError(.invalidURL, "not a URL: \(AMQPURL.redacted(string))")
        }
        switch scheme {
        case "amqp": tls = false
        case "amqps": tls = true
        default:
            throw AMQPError(.invalidURL, "scheme must be amqp or amqps, not '\(scheme)' in \(AMQPURL.redacted(string))")
        }
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
        port = components.port ?? (tls ? 5671 : 5672)
        user = components.percentEncodedUser?.removingPercentEncoding ?? "guest"
        password = components.percentEncodedPassword?.removingPercentEncoding ?? "guest"
        let path = components.percentEncodedPath
        if path.isEmpty || path == "/" {
            vhost = "/"
        } else {
            let raw = String(path.dropFirst())
            guard !raw.contains("/"), let decoded = raw.removingPercentEncoding else {
                throw AMQPError(.invalidURL, "the vhost must be one path segment (use %2F for '/'): \(path)")
            }
            vhost = decoded
        }
        verifyPeer = true
        externalAuthentication = false
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "heartbeat":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw AMQPError(.invalidURL, "heartbeat must be a whole number of seconds, got '\(value)'")
                }
                heartbeatSeconds = seconds
            case "connection_timeout":
                guard let ms = Int(value), ms > 0 else {
                    throw AMQPError(.invalidURL, "connection_timeout must be milliseconds > 0, got '\(value)'")
                }
                connectionTimeoutMilliseconds = ms
            case "cacertfile": caCertificateFile = value
            case "certfile": certificateFile = value
            case "keyfile": keyFile = value
            case "verify":
                switch value {
                case "verify_peer": verifyPeer = true
                case "verify_none": verifyPeer = false
                default: throw AMQPError(.invalidURL, "verify must be verify_peer or verify_none, got '\(value)'")
                }
            case "auth_mechanism":
                switch value.lowercased() {
                case "plain": externalAuthentication = false
                case "external": externalAuthentication = true
                default: throw AMQPError(.invalidURL, "auth_mechanism must be plain or external, got '\(value)'")
                }
            default:
                throw AMQPError(.invalidURL, "unknown URL option '\(item.name)'")
            }
        }
        if (certificateFile == nil) != (keyFile == nil) {
            throw AMQPError(.invalidURL, "certfile and keyfile go together: give both or neither")
        }
        if !tls && (caCertificateFile != nil || certificateFile != nil) {
            throw AMQPError(.invalidURL, "TLS options need an amqps:// URL")
        }
    }

    /// The URL with the password masked, for logs and error messages.
    public var description: String {
        "\(tls ? "amqps" : "amqp")://\(user):***@\(host):\(port)/\(vhost == "/" ? "%2F" : vhost)"
    }

    static func redacted(_ string: String) -> String {
        guard let at = string.lastIndex(of: "@"), let schemeEnd = string.range(of: "://") else { return string }
        let credentials = string[schemeEnd.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return string }
        return String(string[..<colon]) + ":***" + String(string[at...])
    }
}
