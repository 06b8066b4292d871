import Foundation
import MASHTesting

extension Harness {
    /// A desk for `party` on `queue` as a `mash-desk` process (its pages on a free port, HTTPS with a certificate
    /// made here), connecting as the party's broker user. Returns its configuration's store path.
    @discardableResult
    func startDesk(_ party: String, queue: String, shows: [String], extra: String = "") async throws -> String {
        let certificate = scratch.file("desk-\(party).pem")
        let key = scratch.file("desk-\(party).key")
        _ = try Shell.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                "-out", certificate, "-days", "1", "-subj", "/CN=localhost",
            ])
        let store = scratch.file("desks/\(party)/desk.sqlite")
        let config = scratch.file("desk-\(party).yaml")
        try """
        party: \(party)
        broker:
          url: amqp://\(party)@127.0.0.1:1/mash
          queue: \(queue)
        keys: \(hub.keys.path)
        store: \(store)
        accessLog: \(scratch.file("desks/\(party)/access.log"))
        shows: [\(shows.joined(separator: ", "))]
        actions: [acknowledge]
        web:
          port: 0
          certificate: \(certificate)
          key: \(key)
        \(extra)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let url = try broker.url(asUser: party)
        let process = try ChildProcess(
            ChildProcess.built("mash-desk"),
            [
                "--config", config, "--broker",
                "amqp://\(url.user):\(url.password)@\(url.host):\(url.port)/\(url.vhost)",
            ],
            log: scratch.file("desk-\(party).log"))
        processes.withLock { $0.append(process) }
        try await process.waitFor("mash-desk \(party) ready", within: .seconds(60))
        return store
    }
}
