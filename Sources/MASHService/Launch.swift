import ArgumentParser

extension AsyncParsableCommand {
    /// Parses the arguments and runs the command. A service's `main.swift` calls this rather than `main()`:
    /// from a Linux `main.swift`, ArgumentParser's `main()` resolves to its synchronous overload, which
    /// refuses to run an async command.
    public static func launch() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
