import AMQP
import ArgumentParser
import Foundation
import MASHCore
import MASHProtocol
import MASHReadModel
import Sealing

/// `mashctl subject`: a data subject's rights over what the hub shared about them.
struct Subject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A data subject's rights: who received their data; correcting, erasing or restricting it everywhere.",
        subcommands: [
            Disclosures.self, Rectify.self, Erase.self, MarkOpinionIncorrect.self, Restrict.self, Lift.self,
            Corrections.self,
        ])

    /// The person, as the record of sharing finds them.
    struct PersonOptions: ParsableArguments {
        @Option(help: "The person's forename.")
        var forename: String
        @Option(help: "The person's surname.")
        var surname: String
        @Option(help: "Date of birth (YYYY-MM-DD).")
        var dob: String
        @Option(help: "NHS number, to find them by it as well.")
        var nhs: String?

        func validate() throws {
            guard LocalDate(dob) != nil else { throw ValidationError("--dob '\(dob)' is not YYYY-MM-DD") }
        }

        /// The person as recipients find them in their copies.
        var person: Person {
            Person(forename: forename, surname: surname, dateOfBirth: LocalDate(dob), nhsNumber: nhs)
        }
    }

    /// Who asks the coordinator (a staff member, signing with their own key), why, and where the broker and the
    /// store are. The person's references are made with `<keys>/coordinator/data-at-rest.key`.
    struct RequestOptions: ParsableArguments {
        @Option(help: "Why: the data subject's request reference. Recorded with the action. Required.")
        var reason: String
        @OptionGroup var staff: StaffOptions
        @OptionGroup var hub: HubOptions

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--reason must give the data subject's request reference")
            }
            _ = try staff.id()
        }

        /// The person's keyed references, made with the coordinator's data key.
        func references(_ person: PersonOptions) throws -> [String] {
            let dataKey = (staff.keys as NSString).appendingPathComponent("coordinator/data-at-rest.key")
            guard FileManager.default.fileExists(atPath: dataKey) else {
                throw CommandFailure("\(dataKey): no data key, so the person's references cannot be made (--keys)")
            }
            return SubjectReference.references(
                forename: person.forename, surname: person.surname, dateOfBirth: LocalDate(person.dob),
                nhsNumber: person.nhs, keyring: try DataKeyring.loadOrCreate(at: dataKey))
        }

        /// The request's common part, in the staff member's name, expiring after `StaffOptions.recordWindow`.
        func request(about references: [String]) throws -> SubjectRequest {
            let now = Date()
            return SubjectRequest(
                requestedBy: try staff.id(), reason: reason, references: references, at: now,
                expiresAt: now.addingTimeInterval(StaffOptions.recordWindow))
        }

        /// Sends a request signed with the staff member's key and waits until the coordinator has recorded it.
        @discardableResult
        func send(_ payload: [UInt8], type: DocumentType, what: String) async throws -> OperatorAction {
            try await staff.request(payload, type: type, what: what, hub: hub)
        }
    }

    struct Disclosures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every disclosure about one person: to whom, when, which data, on which basis, why.",
            discussion: """
                The person is found as the record of sharing names them: by a keyed reference made from the name \
                and date of birth (spelling as the case system holds it; case, spaces, hyphens and apostrophes \
                do not matter), and from the NHS number when given. Disclosures about other people only (a \
                brother's own school notice) are not listed. The search is recorded by the coordinator (who, \
                when, --reason) before anything is shown; if it cannot be recorded, nothing is shown. Content is \
                never shown: each line says what kind of data went, not the data.

                Use --csv or --json for the response to the requester.

                Examples:
                  mashctl subject disclosures --forename Amy --surname Carter --dob 2019-03-01 \\
                      --reason "SAR-2026-114" --staff d.khan
                  mashctl subject disclosures --forename Amy --surname Carter --dob 2019-03-01 --nhs 9434765919 \\
                      --from 2026-01-01 --reason "SAR-2026-114" --staff d.khan --csv > disclosures.csv
                """)

        @OptionGroup var person: PersonOptions
        @Option(help: "First day (YYYY-MM-DD, UTC) or time (ISO 8601) to include.")
        var from: String?
        @Option(help: "Day or time to stop before (exclusive).")
        var to: String?
        @OptionGroup var request: RequestOptions
        @Flag(help: "Print JSON instead of a table.")
        var json = false
        @Flag(help: "Print CSV (RFC 4180) instead of a table.")
        var csv = false

        func validate() throws {
            guard !(json && csv) else { throw ValidationError("give --json or --csv, not both") }
        }

        func run() async throws {
            let references = try request.references(person)
            let from = try Audit.Export.instant(from, "--from")
            let to = try Audit.Export.instant(to, "--to")
            let access = SubjectAccess(try request.request(about: references))
            try await request.send(access.json, type: .subjectAccess, what: "search (nothing is shown)")
            let entries = try RecordOfSharing.disclosures(
                try request.hub.storeOption.open(), about: references, from: from, to: to
            ).filter { $0.recipient != "retention" }
            if csv {
                StandardStreams.write(Array(RecordOfSharing.csv(entries).utf8))
            } else if json {
                try JSONOutput.write(entries.map(Line.init))
            } else {
                print("\(entries.count) disclosure\(entries.count == 1 ? "" : "s") about this person")
                guard !entries.isEmpty else { return }
                print(
                    Format.row([
                        ("WHEN", -20), ("FROM", -18), ("TO", -22), ("DATA", -26), ("CASE", -36), ("BASIS", -40),
                    ]))
                for entry in entries {
                    print(
                        Format.row([
                            (entry.at, -20), (entry.sender, -18), (entry.recipient, -22), (entry.dataCategories, -26),
                            (entry.enquiryID, -36), (entry.lawfulBasis, -40),
                        ]))
                }
            }
        }

        struct Line: Encodable {
            var seq: Int64
            var at: String
            var from: String
            var to: String
            var dataCategories: [String]
            var lawfulBasis: String
            var purpose: String
            var caseID: String
            var messageID: String

            init(_ entry: Disclosure) {
                seq = entry.seq
                at = entry.at
                from = entry.sender
                to = entry.recipient
                dataCategories = entry.dataCategories.split(separator: ",").map(String.init)
                lawfulBasis = entry.lawfulBasis
                purpose = entry.purpose
                caseID = entry.enquiryID
                messageID = entry.messageID
            }
        }
    }

    struct Restrict: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restrict processing of a person's data: the hub refuses enquiries about them until lifted.",
            discussion: """
                While the restriction stands, an enquiry about the person is refused before anything is sent \
                (the SPA is told why: 'restricted'). Every earlier recipient of their data is told (a \
                mash.correction/1): desks stop showing those items, adapters stop answering research about the \
                person, and each confirms; `mashctl subject corrections` shows who has not. Recorded by the \
                coordinator with who and why. Not yet done: holding back DANs. Lift it with `mashctl subject lift`.

                Example:
                  mashctl subject restrict --forename Amy --surname Carter --dob 2019-03-01 \\
                      --reason "Art. 18 request R-2026-7" --staff d.khan
                """)
        @OptionGroup var person: PersonOptions
        @OptionGroup var request: RequestOptions

        func run() async throws { try await Subject.send(.restrict, person, request) }
    }

    struct Lift: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a restriction: enquiries about the person are fanned out again.",
            discussion: """
                Example:
                  mashctl subject lift --forename Amy --surname Carter --dob 2019-03-01 \\
                      --reason "R-2026-7 resolved" --staff d.khan
                """)
        @OptionGroup var person: PersonOptions
        @OptionGroup var request: RequestOptions

        func run() async throws { try await Subject.send(.lift, person, request) }
    }

    /// What to correct about the person, and in which case; shared by rectify, erase and mark-opinion-incorrect.
    struct CorrectionOptions: ParsableArguments {
        @Option(help: "Only the disclosures of this enquiry (its id); by default every disclosure about the person.")
        var enquiry: String?
    }

    static func correct(
        _ action: CorrectionAction, _ person: PersonOptions, _ options: CorrectionOptions, _ request: RequestOptions,
        corrected: Person? = nil, note: String? = nil
    ) async throws {
        let correction = SubjectCorrection(
            action, try request.request(about: try request.references(person)), person: person.person,
            corrected: corrected, note: note, enquiryID: options.enquiry)
        // Read back as the coordinator will, so a bad field is named here and not in a dead letter.
        _ = try SubjectCorrection(json: correction.json, source: "the request")
        let recorded = try await request.send(correction.json, type: .subjectCorrection, what: action.rawValue)
        StandardStreams.note(
            "\(action.rawValue) sent: \(recorded.summary). Each recipient confirms; `mashctl subject corrections` "
                + "shows who has not.")
    }

    struct Rectify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Correct a person's data at every party the hub shared it with.",
            discussion: """
                Give the person as the hub received them, and each accurate field with --set FIELD=VALUE \
                (forename, surname, dateOfBirth, gender, nhsNumber, upn, pncID, address, postcode). Every \
                recipient the record of sharing lists is sent a mash.correction/1 and amends its copies (only \
                the fields it already holds); the coordinator chases any that has not confirmed, and `mashctl \
                status` shows the correction until all have (one month at most, UK GDPR Art. 12(3)).

                Example:
                  mashctl subject rectify --forename Amy --surname Carter --dob 2019-03-01 \\
                      --set dateOfBirth=2019-03-10 --reason "R-2026-9 birth certificate seen" --staff d.khan
                """)
        @OptionGroup var person: PersonOptions
        @Option(name: .customLong("set"), help: "An accurate field, FIELD=VALUE (repeat for several).")
        var fields: [String] = []
        @OptionGroup var options: CorrectionOptions
        @OptionGroup var request: RequestOptions

        func validate() throws {
            guard !fields.isEmpty else { throw ValidationError("give at least one --set FIELD=VALUE") }
        }

        func run() async throws {
            var object: [String: Any] = [:]
            for field in fields {
                let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[1].isEmpty,
                    let name = Person.Field(rawValue: parts[0]), name != .role, name != .otherNames
                else {
                    throw ValidationError(
                        "--set '\(field)': give FIELD=VALUE, FIELD one of forename, surname, dateOfBirth, gender, "
                            + "nhsNumber, upn, pncID, address, postcode")
                }
                object[name.rawValue] = parts[1]
            }
            let corrected = try Person(json: DocumentWriter.encode(object), source: "--set")
            try await Subject.correct(.rectify, person, options, request, corrected: corrected)
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a person's data at every party the hub shared it with.",
            discussion: """
                Every recipient the record of sharing lists is sent a mash.correction/1: an adapter deletes its \
                copies of the requests about the person (their keys shredded) and answers no later research \
                about them; a desk deletes the items about them and removes them from items about others. Each \
                confirms; the coordinator chases any that has not, and `mashctl status` shows the erasure until \
                all have.

                Example:
                  mashctl subject erase --forename Amy --surname Carter --dob 2019-03-01 \\
                      --reason "Art. 17 request R-2026-12" --staff d.khan
                """)
        @OptionGroup var person: PersonOptions
        @OptionGroup var options: CorrectionOptions
        @OptionGroup var request: RequestOptions

        func run() async throws { try await Subject.correct(.erase, person, options, request) }
    }

    struct MarkOpinionIncorrect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mark-opinion-incorrect",
            abstract: "Mark an opinion about a person incorrect at every party the hub shared it with.",
            discussion: """
                An opinion is not deleted: each recipient keeps it, marked with --note (which opinion, and why it \
                is incorrect), and a desk shows the note on the item.

                Example:
                  mashctl subject mark-opinion-incorrect --forename Amy --surname Carter --dob 2019-03-01 \\
                      --enquiry 3f6c... --note "The referral's view that the mother was intoxicated was wrong: \\
                      see case note 14 May" --reason "R-2026-13" --staff d.khan
                """)
        @OptionGroup var person: PersonOptions
        @Option(help: "Which opinion is incorrect, and why. Required.")
        var note: String
        @OptionGroup var options: CorrectionOptions
        @OptionGroup var request: RequestOptions

        func run() async throws {
            try await Subject.correct(.markOpinionIncorrect, person, options, request, note: note)
        }
    }

    struct Corrections: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List corrections some recipient has not confirmed, and who.",
            discussion: """
                Each line is one correction (rectify, erase, restrict, lift, mark-opinion-incorrect) still open: \
                how many recipients have confirmed, when it is due (one month from the request), and who is \
                still to confirm (with how many times they were sent it). No personal data is shown.
                """)
        @OptionGroup var store: StoreOption
        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            let corrections = try store.open().outstandingCorrections()
            if json { return try JSONOutput.write(corrections) }
            print("\(corrections.count) correction\(corrections.count == 1 ? "" : "s") waiting for receipts")
            guard !corrections.isEmpty else { return }
            print(Format.row([("ID", -36), ("ACTION", -22), ("CONFIRMED", -9), ("DUE", -20), ("WAITING FOR", -60)]))
            let now = Date()
            for correction in corrections {
                let waiting = correction.waiting.map { "\($0.party) (\($0.chases + 1)×)" }.joined(separator: ", ")
                print(
                    Format.row([
                        (correction.id, -36), (correction.action, -22),
                        ("\(correction.confirmed)/\(correction.recipients)", -9),
                        ((correction.overdue(at: now) ? "PAST " : "") + Format.clock(correction.respondBy), -20),
                        (waiting, -60),
                    ]))
            }
        }
    }

    static func send(_ action: SubjectRestriction.Action, _ person: PersonOptions, _ request: RequestOptions)
        async throws
    {
        let restriction = SubjectRestriction(
            action, try request.request(about: try request.references(person)), person: person.person)
        let recorded = try await request.send(restriction.json, type: .subjectRestriction, what: action.rawValue)
        StandardStreams.note(
            (action == .restrict ? "restricted: enquiries about this person are refused until lifted" : "lifted")
                + "; \(recorded.summary)")
    }
}
