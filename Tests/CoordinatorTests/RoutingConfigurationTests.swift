import Coordinator
import Foundation
import MASHConfig
import MASHCore
import MASHTesting
import Testing

@Suite("Config/routing.yaml")
struct RoutingConfigurationTests {
    @Test("the shipped routing loads: seven agencies, Red to all of them, the protocol's SLA")
    func shipped() throws {
        let routing = try RoutingConfiguration.load(file: Repository.path("Config/routing.yaml"))
        #expect(Set(routing.agencies.keys) == Set(TestHub.agencies))
        #expect(Set(routing.defaults[.red] ?? []) == Set(TestHub.agencies))
        #expect(routing.policy == .mashDefault && routing.chaseEvery == 3600)
        #expect(routing.agencies["education"]?.personFields.contains(.nhsNumber) == false)
        #expect(routing.agencies["turning-point"]?.mandatory == false)
        #expect(routing.intakeSenders == ["spa"])
    }

    func error(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try RoutingConfiguration(yaml: yaml, file: "routing.yaml")
            return nil
        } catch { return error as? ConfigurationError }
    }

    static let base = """
        purpose: test
        intakeSenders: [spa]
        agencies:
          police:
            receives: [forename, surname]
        defaults:
          red: [police]
          amber: [police]
          green: [police]
        """

    @Test("errors name the file, the line and the key")
    func errors() throws {
        #expect(error(Self.base) == nil)
        let typo = try #require(
            error(Self.base.replacingOccurrences(of: "receives: [forename, surname]", with: "receives: [forname]")))
        #expect(typo.description.hasPrefix("routing.yaml:5: 'agencies.police.receives[0]': 'forname' is not a field"))
        let unknownAgency = try #require(
            error(Self.base.replacingOccurrences(of: "amber: [police]", with: "amber: [poilce]")))
        #expect(
            unknownAgency.description.hasPrefix(
                "routing.yaml:8: 'defaults.amber[0]': 'poilce' is not one of the agencies"))
        let unknownKey = try #require(error(Self.base + "\nescalate: yes\n"))
        #expect(unknownKey.description == "routing.yaml:10: 'escalate': is not a known key")
        let badClock = try #require(error(Self.base + "\nsla:\n  red: {partners: 4 hours}\n"))
        #expect(badClock.key == "sla.red.partners" && badClock.problem.contains("is not a clock"))
    }

    @Test("SLA clocks and chase interval from the file")
    func clocks() throws {
        let routing = try RoutingConfiguration(
            yaml: Self.base + "\nsla:\n  chaseEvery: 30m\n  red: {partners: 2h working, decision: 90s wall-clock}\n",
            file: "routing.yaml")
        #expect(routing.policy.partners[.red] == .workingTime(7200))
        #expect(routing.policy.decision[.red] == .wallClock(90))
        #expect(routing.policy.partners[.amber] == .sameTimeNextWorkingDay)
        #expect(routing.chaseEvery == 1800)
    }
}
