import Testing

/// The coordinator's tests against the broker nest in this suite. Each has a vhost of its own (the harness's
/// `TestVhost`), so they run in parallel, a few at a time.
@Suite struct CoordinatorBrokerTests {}
