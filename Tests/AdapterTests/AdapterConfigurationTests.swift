import Foundation
import MASHConfig
import MASHCore
import MASHTesting
import Sealing
import Testing

@testable import Adapter
@testable import MASHAgency

/// A scratch folder with a key directory (the agency's pair and the hub's public key) and a small extract.
struct ConfigFixture {
    let folder: ScratchDirectory

    init() throws {
        folder = try ScratchDirectory("adapter-config")
        try KeyDirectory.generate(agency: "police", in: folder.file("keys"))
        try KeyDirectory.generate(agency: "coordinator", in: folder.file("keys"))
        try """
        first,last,born,pnc,postcode,occurrence,when
        Ellie,Testperson,2016-03-14,,ME4 4AA,Domestic incident,2026-10-01
        Ellie,Testperson,2016-03-14,,ME4 4AA,Missing episode,2026-10-05
        Daniel,Okafor-Smith,21/09/2013,01/0012345H,ME7 1AA,Assault,2025-04-02
        Sam,Smith,2015-01-01,,ME1 1AA,,2024-01-01
        """.write(toFile: folder.file("extract.csv"), atomically: true, encoding: .utf8)
    }

    static let valid = """
        agency: police
        broker:
          url: amqp://police@127.0.0.1:5672/mash
        keys: keys
        store: store.sqlite
        receives: [forename, surname, dateOfBirth, pncID, postcode, household]
        lawfulBasis:
          article6: public-task
          article10: safeguarding-children
        research:
          backend: csv
          file: extract.csv
          columns: {forename: first, surname: last, dateOfBirth: born, pncID: pnc, postcode: postcode}
          recordedOn: when
          discloses:
            - {column: occurrence, label: Occurrence, category: criminal-offence}
        """

    func load(_ yaml: String) throws -> AdapterConfiguration {
        let path = folder.file("police.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try AdapterConfiguration.load(file: path)
    }

    func error(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

@Suite("Adapter configuration: strict, with file, line and key")
struct AdapterConfigurationTests {
    @Test("a valid file loads, with paths taken from the file's folder and sensible defaults")
    func valid() throws {
        let fixture = try ConfigFixture()
        defer { fixture.folder.remove() }
        let configuration = try fixture.load(ConfigFixture.valid)
        #expect(configuration.queue == "agency.police.enquiries")
        #expect(configuration.store == fixture.folder.file("store.sqlite"))
        #expect(configuration.categories == [.personal, .criminalOffence])
        #expect(configuration.receivesHousehold && !configuration.receivesReason)
        #expect(configuration.attempts == 3 && configuration.heartbeatEvery == 30 && configuration.parallel == 2)
        #expect(configuration.outcomes == nil)

        let passing = try fixture.load(
            ConfigFixture.valid + "\noutcomes:\n  command: [bin/update-case, --mash]\n  timeout: 20s\n")
        guard case .command(let arguments, let timeout) = passing.outcomes else {
            Issue.record("expected an outcome command, got \(String(describing: passing.outcomes))")
            return
        }
        #expect(arguments == [fixture.folder.file("bin/update-case"), "--mash"] && timeout == 20)
    }

    @Test(
        "each mistake names its line and key",
        arguments: [
            (
                "  article10: safeguarding-children\n", "", "police.yaml:7: 'lawfulBasis': ",
                "needs an Article 10 condition"
            ),
            (
                "backend: csv", "backend: excel", "police.yaml:11: 'research.backend'",
                "use csv, sqlite, command or http"
            ),
            ("born, pnc", "dob, pnc", "police.yaml:13: 'research.columns'", "has no column 'dob'"),
            (
                "category: criminal-offence}", "category: crime}", "police.yaml:16: 'research.discloses[0].category'",
                "'crime' is not a data category"
            ),
            ("receives: [forename,", "receives: [forname,", "police.yaml:6: 'receives[0]'", "'forname' is not a field"),
            ("keys: keys", "keys: nokeys", "police.yaml:4: 'keys'", "no private keys for 'police'"),
            ("store: store.sqlite", "store: store.sqlite\nstroe: x", "police.yaml:6: 'stroe'", "is not a known key"),
            (
                "store: store.sqlite", "store: store.sqlite\nstore: other.sqlite", "police.yaml:6: 'store'",
                "is given twice in the same mapping (first on line 5)"
            ),
            (
                "url: amqp://police@127.0.0.1:5672/mash", "url: http://police@host/mash", "police.yaml:3: 'broker.url'",
                "scheme must be amqp or amqps"
            ),
            (
                "store: store.sqlite", "store: store.sqlite\noutcomes:\n  timeout: 5s",
                "police.yaml:7: 'outcomes.command'",
                "give either a command or a url"
            ),
            (
                "store: store.sqlite", "store: store.sqlite\noutcomes:\n  url: ftp://x/y",
                "police.yaml:7: 'outcomes.url'",
                "is not an http:// or https:// URL"
            ),
        ] as [(String, String, String, String)])
    func mistakes(_ original: String, _ replacement: String, _ place: String, _ problem: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.folder.remove() }
        #expect(ConfigFixture.valid.contains(original))
        let message = try #require(
            fixture.error(ConfigFixture.valid.replacingOccurrences(of: original, with: replacement)))
        #expect(message.contains(place), "\(message)")
        #expect(message.contains(problem), "\(message)")
        #expect(!message.contains("\n"), "one line, not the parser's dump of the file: \(message)")
    }

    @Test("broker.tls gives the CA and the client certificate; the URL carries them, and a missing file is named")
    func brokerTLS() throws {
        let fixture = try ConfigFixture()
        defer { fixture.folder.remove() }
        let tls = ConfigFixture.valid.replacingOccurrences(
            of: "url: amqp://police@127.0.0.1:5672/mash",
            with: """
                url: amqps://police@localhost:5671/mash
                  passwordFile: password
                  tls:
                    ca: tls/ca.pem
                    certificate: tls/police.pem
                    key: tls/police.key
                """)
        let configuration = try fixture.load(tls)
        #expect(
            configuration.brokerTLS
                == BrokerTLS(
                    caCertificate: fixture.folder.file("tls/ca.pem"),
                    certificate: fixture.folder.file("tls/police.pem"),
                    key: fixture.folder.file("tls/police.key")))
        try "secret\n".write(toFile: fixture.folder.file("password"), atomically: true, encoding: .utf8)
        let missing = #expect(throws: ConfigurationError.self) { try configuration.brokerURL(override: nil) }
        #expect(missing?.key == "broker.tls.ca" && missing?.problem.contains("tls/ca.pem") == true)

        try FileManager.default.createDirectory(atPath: fixture.folder.file("tls"), withIntermediateDirectories: true)
        for name in ["ca.pem", "police.pem", "police.key"] {
            try "x".write(toFile: fixture.folder.file("tls/\(name)"), atomically: true, encoding: .utf8)
        }
        let url = try configuration.brokerURL(override: nil)
        #expect(url.tls && url.password == "secret" && url.host == "localhost" && url.port == 5671)
        #expect(url.caCertificateFile == fixture.folder.file("tls/ca.pem"))
        #expect(url.certificateFile == fixture.folder.file("tls/police.pem"))
        #expect(url.keyFile == fixture.folder.file("tls/police.key"))
        #expect(try configuration.brokerURL(override: "amqp://police:pw@127.0.0.1:1/mash").caCertificateFile == nil)

        let plain = fixture.error(tls.replacingOccurrences(of: "amqps://", with: "amqp://"))
        #expect(plain?.contains("police.yaml:5: 'broker.tls': needs an amqps:// url") == true, "\(plain ?? "")")
        let half = fixture.error(tls.replacingOccurrences(of: "    key: tls/police.key\n", with: ""))
        #expect(half?.contains("'broker.tls.key': certificate and key go together") == true, "\(half ?? "")")
    }

    @Test("the shipped configurations of the seven agencies are well formed (keys and extracts aside)")
    func shipped() throws {
        for agency in ["police", "health", "education", "housing", "yos", "probation", "turning-point"] {
            let text = try String(contentsOfFile: Repository.path("Config/agencies/\(agency).yaml"), encoding: .utf8)
            #expect(text.contains("agency: \(agency)\n"))
            #expect(text.contains("passwordFile: ../../.build/broker/credentials/\(agency)"))
            #expect(!text.contains("amqp://\(agency):"), "no password in a committed file")
            #expect(text.contains("url: amqps://\(agency)@localhost:25671/mash"), "TLS by default")
            #expect(text.contains("certificate: ../../.build/broker/tls/clients/\(agency).pem"))
        }
    }
}

@Suite("Research backends: answers, refusals, extracts")
struct ResearchBackendTests {
    @Test("a backend's answer is read strictly, and a category the agency may not disclose is refused")
    func backendAnswers() throws {
        let good =
            #"{"outcome": "information-held", "findings": [{"summary": "s", "category": "personal", "match": {"band": "potential-match", "score": 0.6}}]}"#
        #expect(
            try readBackendAnswer(Array(good.utf8), from: "p", allowed: [.personal])
                == .findings([
                    Finding(
                        summary: "s", category: .personal, match: MatchAssessment(band: .potentialMatch, score: 0.6))
                ]))
        #expect(
            try readBackendAnswer(Array(#"{"outcome": "no-trace"}"#.utf8), from: "p", allowed: [.personal])
                == .findings([]))
        #expect(
            try readBackendAnswer(
                Array(#"{"outcome": "declined", "reason": "sealed record"}"#.utf8), from: "p", allowed: [])
                == .declined("sealed record"))
        let failures: [(String, String)] = [
            ("not json", "not valid JSON"),
            // The field's path, never its value.
            (#"{"outcome": "maybe"}"#, "field 'outcome' is missing or not valid"),
            (#"{"outcome": "no-trace", "extra": 1}"#, "field 'extra'"),
            (#"{"outcome": "information-held"}"#, "field 'findings' is missing or not valid"),
            (
                #"{"outcome": "information-held", "findings": [{"summary": "s", "category": "special-category"}]}"#,
                "'special-category' finding; this adapter may disclose only personal"
            ),
            (
                #"{"outcome": "information-held", "findings": [{"summary": "s", "category": "personal", "match": {"band": "match", "score": 3}}]}"#,
                "field 'findings[0].match.score'"
            ),
        ]
        for (text, expected) in failures {
            #expect(throws: ResearchFailure.self) {
                try readBackendAnswer(Array(text.utf8), from: "p", allowed: [.personal])
            }
            do {
                _ = try readBackendAnswer(Array(text.utf8), from: "p", allowed: [.personal])
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }

    @Test("an extract search discloses only the configured columns of matched records, one finding per category")
    func extractResearch() async throws {
        let fixture = try ConfigFixture()
        defer { fixture.folder.remove() }
        let configuration = try fixture.load(
            ConfigFixture.valid.replacingOccurrences(
                of: "category: criminal-offence}",
                with: "category: criminal-offence}\n    - {column: when, label: Date, category: personal}"))
        guard case .extract(let extract) = configuration.backend else { throw ExtractError("not an extract") }
        let backend = try ExtractBackend(extract)
        let request = ResearchRequest(
            requestID: "r", enquiryID: "e", agency: "police", rag: .red, dueBy: Date(), purpose: "p", consent: "given",
            lawfulBasis: LawfulBasis(article6: .publicTask),
            subject: Person(
                forename: "ELLIE", surname: "testperson", dateOfBirth: LocalDate(year: 2016, month: 3, day: 14)),
            household: [
                Person(
                    role: "brother", forename: "Danny", surname: "Okafor Smith",
                    dateOfBirth: LocalDate(year: 2013, month: 9, day: 21))
            ],
            reason: nil)
        guard case .findings(let findings) = try await backend.research(request) else {
            Issue.record("expected findings")
            return
        }
        // Two identical Ellie records are a many-match: reported, but not disclosed.
        let ellie = findings.filter { $0.summary.hasPrefix("Subject") }
        #expect(ellie.count == 2)
        #expect(
            ellie.allSatisfy {
                $0.match?.manyMatch == true && $0.match?.band == .potentialMatch && $0.category == .personal
            })
        #expect(ellie.allSatisfy { !$0.summary.contains("Domestic") })
        // The brother, by nickname and a hyphen dropped: his occurrence (criminal offence) and its date (personal).
        let daniel = findings.filter { $0.summary.hasPrefix("Household member (brother)") }
        #expect(daniel.map(\.category).sorted() == [.personal, .criminalOffence])
        #expect(daniel.contains { $0.summary == "Household member (brother) — Occurrence: Assault" })
        #expect(
            daniel.allSatisfy { $0.recordedOn == LocalDate(year: 2025, month: 4, day: 2) && $0.match?.band == .match })
        #expect(!findings.contains { $0.summary.contains("Sam") })
    }
}
