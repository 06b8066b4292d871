import Foundation
import MASHConfig
import MASHCore
import MASHTesting
import Testing

@Suite("Signatories: who may receive data")
struct SignatoriesTests {
    static let yaml = """
        parties:
          police: {signed: 2024-04-01}
          health: {signed: 2024-04-01, withdraws: 2027-03-01}
          school-990003: {signed: 2027-01-05}
        """

    @Test("a party signs, signs later, leaves, or was never listed")
    func standing() throws {
        let list = try Signatories(yaml: Self.yaml, file: "signatories.yaml")
        let day = try #require(LocalDate("2026-12-01"))
        #expect(list.standing(of: "police", on: day) == .signed)
        #expect(list.standing(of: "health", on: day) == .signed)
        #expect(
            list.standing(of: "health", on: try #require(LocalDate("2027-03-01"))) == .left(LocalDate("2027-03-01")!))
        #expect(list.standing(of: "school-990003", on: day) == .signsOn(LocalDate("2027-01-05")!))
        #expect(list.standing(of: "housing", on: day) == .notSigned)
        #expect(list.refusal(of: "police", on: day) == nil)
        #expect(list.refusal(of: "housing", on: day)?.contains("has not signed") == true)
        #expect(list.withdrawing(from: day, within: 90).map(\.party) == ["health"])
        #expect(list.withdrawing(from: day, within: 80).isEmpty)
    }

    @Test("errors name the file, line and key")
    func errors() throws {
        func error(_ yaml: String) -> String? {
            do {
                _ = try Signatories(yaml: yaml, file: "signatories.yaml")
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(
            error("parties:\n  police: {signed: 2024-13-01}\n")
                == "signatories.yaml:2: 'parties.police.signed': '2024-13-01' is not YYYY-MM-DD")
        #expect(error("parties:\n  police: {}\n")?.contains("'parties.police.signed': is required") == true)
        #expect(
            error("parties:\n  police: {signed: 2024-04-01, withdraws: 2024-01-01}\n")?.contains(
                "'parties.police.withdraws': is not after the day it signed (2024-04-01)") == true)
        #expect(error("parties:\n  Police: {signed: 2024-04-01}\n")?.contains("is not a party id") == true)
        #expect(
            error("parties:\n  police: {signed: 2024-04-01, left: yes}\n")?.contains("'parties.police.left'") == true)
    }

    @Test("the shipped file lists every party the demonstration hub discloses to")
    func shipped() throws {
        let list = try Signatories.load(file: Repository.root + "/Config/signatories.yaml")
        let day = try #require(LocalDate("2026-12-01"))
        for party in [
            "police", "health", "education", "housing", "yos", "probation", "turning-point", "spa",
            "decision-maker", "practice-manager", "csc", "la-officer", "school-990001", "school-990002",
        ] {
            #expect(list.standing(of: party, on: day) == .signed, "\(party)")
        }
    }
}
