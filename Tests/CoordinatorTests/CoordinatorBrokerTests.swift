import Testing

/// Every coordinator test against the broker shares the hub's queues, so they run one at a time: the suites
/// nest in this serialized one.
@Suite(.serialized) struct CoordinatorBrokerTests {}
