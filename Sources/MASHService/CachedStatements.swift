import GRDB

extension Database {
    /// Runs one SQL statement prepared once per connection. The message flows run the same few statements for
    /// every message; parsing them each time cost more than running them. Only for SQL whose text does not
    /// vary (the cache keeps one prepared statement per distinct text for the connection's life).
    public func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
