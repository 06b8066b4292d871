import AMQP
import ArgumentParser
import Foundation
import Logging
import MASHAgency
import MASHRuntime
import MASHService
import ServiceLifecycle

/// `mash-adapter`: one agency's adapter, driven entirely by its configuration file.
public struct AdapterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mash-adapter",
        abstract: "Run one agency's MASH adapter: research enquiries in the agency's records and answer the hub.",
        discussion: """
            Everything about the agency is in its configuration file: its broker user and queue, its keys, the \
            fields it receives and may disclose with their data categories, its lawful basis, and its research \
            backend (csv, sqlite, command or http). The file is checked at start; errors name the file, line \
            and key. `mashctl config validate <file>` runs the same checks without starting.

            Requests are stored (encrypted) and acked at once, researched from the store, and answered through \
            an outbox, so SIGTERM, SIGINT or even kill -9 lose nothing: the next start carries on.

            Example:
              mash-adapter --config Config/agencies/police.yaml
            """)

    @Option(help: "The agency's configuration file (Config/agencies/<id>.yaml).")
    var config: String

    @Option(
        help:
            "Broker URL with password, overriding the file's url and passwordFile. Default: $MASH_ADAPTER_URL, if set."
    )
    var broker: String?

    @Option(
        help: """
            Local port serving /metrics and /health on 127.0.0.1, overriding the file's operationsPort; 0 picks a \
            free port, off serves none.
            """)
    var operationsPort: OperationsPort?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    public init() {}

    public func run() async throws {
        var configuration = try AdapterConfiguration.load(file: config)
        if let operationsPort { configuration.operationsPort = operationsPort.port }
        var logger = Logger(label: "mash.adapter.\(configuration.agency)")
        logger.logLevel = logLevel
        let url = try configuration.brokerURL(
            override: broker ?? ProcessInfo.processInfo.environment["MASH_ADAPTER_URL"])
        let adapter = try Adapter(configuration: configuration, broker: url, logger: logger)
        let services = adapter.services { FileHandle.standardOutput.write(Data((adapter.readyLine + "\n").utf8)) }
        try await ServiceGroup.runGracefully(services, logger: logger, signals: true)
        logger.notice("stopped gracefully: the outbox flushed")
    }
}
