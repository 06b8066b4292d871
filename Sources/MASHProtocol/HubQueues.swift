/// The wire's names: what every service, desk and `mashctl` calls the hub's exchanges and queues
/// (`deploy/rabbitmq/definitions.json` declares them; `docs/protocol.md` lists them for partners).
public enum HubQueues {
    public static let intake = "coordinator.intake"
    /// DANs, open-case updates, school rolls and Encompass acknowledgements.
    public static let notifications = "coordinator.notifications"
    public static let responses = "coordinator.responses"
    public static let intakeExchange = "mash.intake"
    /// The intake routing key of operator requests (`mash.dead-letter-replay/1`, `mash.open-case-register/1`),
    /// bound to `coordinator.notifications`.
    public static let operatorRoutingKey = "operator"
    /// The intake routing key of a desk's `mash.correction-receipt/1`, bound to `coordinator.notifications`
    /// (an adapter sends its receipts on `mash.responses`, as its answers).
    public static let correctionReceiptRoutingKey = "correction-receipt"
    /// The intake routing key of a desk's heartbeat and refusal reports, bound to `coordinator.notifications`
    /// (an adapter sends both on `mash.responses`).
    public static let partyReportRoutingKey = "party-report"
    public static let enquiriesExchange = "mash.enquiries"
    public static let responsesExchange = "mash.responses"
    /// Where the record of sharing's signed checkpoints go (routing key `checkpoint`), to `audit.checkpoints`.
    public static let auditExchange = "mash.audit"
    public static let auditCheckpoints = "audit.checkpoints"
    public static let noticesExchange = "mash.notices"
    public static let alertsExchange = "mash.alerts"
    public static let decisionsExchange = "mash.decisions"
    public static let deadLetterExchange = "mash.dlx"
    public static func agency(_ id: String) -> String { "agency.\(id).enquiries" }
    public static let decisionPackages = "decision-maker.packages"
    public static let practiceManagerAlerts = "practice-manager.alerts"
    public static let spaNotices = "spa.notices"
    public static let probationSafeguarding = "probation.safeguarding"
    public static let socialCareContacts = "csc.contacts"
    public static let laOfficerNotices = "la-officer.encompass"
    public static let educationRolls = "education.rolls"
    public static let orchestraNotices = "orchestra.notices"
    /// The Missing and Exploitation Co-ordinator's queue: the daily review of missing and found reports.
    public static let missingEpisodes = "missing-coordinator.episodes"
    /// What goes to other local authorities (routing key `la-<code>`), into `authority.<la>.outbound`, which a
    /// shovel moves to the authority's own broker.
    public static let authoritiesExchange = "mash.authorities"
    /// The hub's own portal's queue: the outcomes of its professionals' contacts and their consultations.
    public static let portalNotices = portalNotices(of: hubPortal)
    /// The party of the hub's own portal (`Config/desks/portal.yaml`).
    public static let hubPortal = "portal"
    /// A portal party's queue, and its routing key on `mash.notices`: each portal has its own, so one
    /// organisation's portal never holds another's contacts.
    public static func portalNotices(of portal: String) -> String { portal + ".notices" }
    /// The intake routing key of challenges to decisions and their stages (agencies send theirs on
    /// `mash.responses`).
    public static let challengeRoutingKey = "challenge"
    /// The intake routing key of meeting records.
    public static let meetingRoutingKey = "meeting"
    /// The intake routing key of contacts and screenings.
    public static let contactRoutingKey = "contact"
    /// The intake routing key of missing and found reports and return interviews.
    public static let missingRoutingKey = "missing"
}
