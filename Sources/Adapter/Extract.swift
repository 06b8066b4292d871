import Foundation
import MASHAgency
import MASHCore
import Synchronization

/// Research against a local extract: the subject and each household member are searched with the identity
/// matcher, and each record found becomes findings holding only the configured columns, one finding per data
/// category. The extract is read again when its file changes, so an agency refreshes it by replacing the file.
final class ExtractBackend: ResearchBackend {
    let extract: AdapterConfiguration.Extract
    private let loaded = Mutex<(modified: Date, records: ExtractRecords)?>(nil)

    init(_ extract: AdapterConfiguration.Extract) throws {
        self.extract = extract
        _ = try records()
    }

    private func records() throws -> ExtractRecords {
        let modified =
            (try? FileManager.default.attributesOfItem(atPath: extract.file)[.modificationDate] as? Date)
            ?? .distantPast
        if let current = loaded.withLock({ $0 }), current.modified == modified { return current.records }
        let records = try ExtractRecords.load(extract)
        loaded.withLock { $0 = (modified, records) }
        return records
    }

    func research(_ request: ResearchRequest) async throws -> BackendAnswer {
        let records: ExtractRecords
        do {
            records = try self.records()
        } catch {
            throw ResearchFailure("the extract could not be read (\(type(of: error)))")
        }
        var findings: [Finding] = []
        let people =
            [("Subject", request.subject)]
            + request.household.map { ("Household member (\($0.role ?? "unknown role"))", $0) }
        for (who, person) in people {
            for candidate in records.index.search(person, matcher: extract.matcher) {
                findings += self.findings(records.rows[candidate.id], who: who, assessment: candidate.assessment)
            }
        }
        return .findings(findings)
    }

    private func findings(_ row: [String: String], who: String, assessment: MatchAssessment) -> [Finding] {
        let recordedOn = extract.recordedOn.flatMap { row[$0] }.flatMap(ExtractRecords.parseDate)
        guard assessment.band == .match || extract.disclosePotentialMatches else {
            let why = assessment.manyMatch ? "one of several records that match equally" : "a potential match"
            return [
                Finding(
                    summary: "\(who): \(why); the agency will confirm identity before sharing its content.",
                    category: .personal, match: assessment)
            ]
        }
        var result: [Finding] = []
        for category in DataCategory.allCases {
            let parts = extract.discloses.filter { $0.category == category }.compactMap { disclosure -> String? in
                guard let value = row[disclosure.column], !value.isEmpty else { return nil }
                return "\(disclosure.label): \(value)"
            }
            guard !parts.isEmpty else { continue }
            result.append(
                Finding(
                    summary: "\(who) — " + parts.joined(separator: "; "), category: category, recordedOn: recordedOn,
                    match: assessment))
        }
        return result
    }
}
