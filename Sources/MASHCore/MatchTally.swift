/// Precision and recall of a matcher on labelled queries, per band. Each query counts once, by its best
/// candidate: in the match band, in the potential-match band, or none (no-match). A prediction is right when
/// that candidate is the record the label names. Recall is over the queries whose person is in the records.
public struct MatchTally: Sendable, Equatable {
    public struct Band: Sendable, Equatable {
        /// Queries whose best candidate is in this band.
        public var predicted = 0
        /// Of those, the ones whose best candidate is the labelled record.
        public var right = 0
        /// Of those, the ones flagged many-match (several records as strong).
        public var manyMatches = 0

        public var precision: Double { predicted == 0 ? 1 : Double(right) / Double(predicted) }
    }

    public private(set) var queries = 0
    /// Queries whose person is in the records.
    public private(set) var present = 0
    public private(set) var match = Band()
    public private(set) var potentialMatch = Band()
    /// Queries with no candidate whose person is not in the records (right), and is (missed).
    public private(set) var noMatchRight = 0
    public private(set) var noMatchMissed = 0

    public init() {}

    /// One query: its best candidate's record and assessment (nil: no candidate), and the labelled record (nil:
    /// the person is not in the records).
    public mutating func add<Record: Equatable>(best: (record: Record, assessment: MatchAssessment)?, truth: Record?) {
        queries += 1
        if truth != nil { present += 1 }
        guard let best, best.assessment.band != .noMatch else {
            if truth == nil { noMatchRight += 1 } else { noMatchMissed += 1 }
            return
        }
        let right = best.record == truth
        let many = best.assessment.manyMatch
        switch best.assessment.band {
        case .match: Self.count(&match, right: right, many: many)
        case .potentialMatch: Self.count(&potentialMatch, right: right, many: many)
        case .noMatch: break
        }
    }

    private static func count(_ band: inout Band, right: Bool, many: Bool) {
        band.predicted += 1
        if right { band.right += 1 }
        if many { band.manyMatches += 1 }
    }

    public func band(_ band: MatchBand) -> Band? {
        switch band {
        case .match: match
        case .potentialMatch: potentialMatch
        case .noMatch: nil
        }
    }

    /// The share of the queries whose person is in the records that this band names rightly.
    public func recall(_ band: MatchBand) -> Double {
        guard let counts = self.band(band) else { return 0 }
        return present == 0 ? 1 : Double(counts.right) / Double(present)
    }
}
