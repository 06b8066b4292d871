import Dispatch
import Foundation
import Logging

/// Runs `body` until it returns or SIGTERM/SIGINT arrives; a signal cancels it, and it is given the chance to
/// finish gracefully.
public func runUntilSignalled(logger: Logger, _ body: @escaping @Sendable () async throws -> Void) async throws {
    let task = Task { try await body() }
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGTERM, SIGINT] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            logger.notice("signal \(signalNumber): stopping gracefully")
            task.cancel()
        }
        source.resume()
        sources.append(source)
    }
    defer { sources.forEach { $0.cancel() } }
    try await task.value
}
