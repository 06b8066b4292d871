import Foundation

/// The `frontDoor` section of routing.yaml: who sends professionals' contacts (the portal) and who screens them
/// (the SPA).
public struct FrontDoorRouting: Sendable {
    /// May send `mash.contact/1`; each is also the party the referrer is told the outcome through.
    public var portals: Set<String> = ["portal"]
    /// May send `mash.screening/1`.
    public var screeners: Set<String> = ["spa"]

    public init() {}

    init(_ mapping: inout ConfigMapping) throws {
        portals = Set(try mapping.optionalStrings("portals") ?? Array(portals))
        screeners = Set(try mapping.optionalStrings("screeners") ?? Array(screeners))
        try mapping.finish()
    }
}
