import Foundation
import Hummingbird
import MASHAgency
import MASHCore

/// The front door's pages: on a portal, professionals' referral form and their own contacts; on the SPA's desk,
/// the screening of contacts and the No-Name Consultation Service's records.
extension Pages {
    static func trimmed(_ text: String?) -> String { text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }

    /// A reference people can read out on the phone: a prefix, the UK date and six characters of the id.
    static func reference(_ prefix: String, id: String, at date: Date) -> String {
        let day = UKTime.localDate(date)
        let stamp = String(format: "%04d%02d%02d", day.year, day.month, day.day)
        return "\(prefix)-\(stamp)-\(id.replacingOccurrences(of: "-", with: "").prefix(6).uppercased())"
    }

    // MARK: the portal

    /// The contacts this professional sent, with where each stands; nobody else's.
    func contacts(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.refer) else { return notHere(staff, "contacts") }
        let now = now()
        let sent = try await desk.store.sent(type: DocumentType.contact.rawValue, by: staff.account.id)
        let outcomes = try await outcomesByContact(for: staff.account.id)
        await log.record("contacts", staff: staff.account.id, detail: "\(sent.count) contacts listed", at: now)
        let rows: [[String: Any]] = try sent.map { record in
            let document = try desk.document(of: record)
            let child = document["child"] as? [String: Any] ?? [:]
            return [
                "id": record.id, "reference": record.reference,
                "child": "\(child["forename"] as? String ?? "") \(child["surname"] as? String ?? "")",
                "sent": UKTime.dateTime(record.sentAt),
                "status": status(of: record, outcome: outcomes[record.id]?.1),
            ]
        }
        return page(
            "contacts", ["title": "My contacts", "contacts": rows, "hasContacts": !rows.isEmpty], staff: staff)
    }

    private func notHere(_ staff: Staff, _ what: String) -> Response {
        message("Not found", "This desk has no \(what).", staff: staff, status: .notFound)
    }

    /// Each contact's outcome item on this portal, for its referrer only.
    private func outcomesByContact(for staffID: String) async throws -> [String: (StoredItem, ItemSummary)] {
        var outcomes: [String: (StoredItem, ItemSummary)] = [:]
        for (item, summary) in try await desk.summaries()
        where item.type == DocumentType.contactOutcome.rawValue && summary.owner == staffID {
            if let contact = summary.contactID { outcomes[contact] = (item, summary) }
        }
        return outcomes
    }

    private func status(of record: SentRecord, outcome: ItemSummary?) -> String {
        if let outcome { return outcome.title }
        return record.deliveredAt == nil
            ? "Waiting to reach the hub (this portal keeps it and sends it when it can)"
            : "With the Single Point of Access to screen"
    }

    /// The referral form; `?consultation=NNC-…` starts it from one of this professional's consultations.
    func newContact(_ request: Request, problem: String? = nil, fields: Form? = nil) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.refer) else { return notHere(staff, "referral form") }
        var values: [String: String] = fields?.values ?? [:]
        if values["contactID"] == nil { values["contactID"] = UUID().uuidString.lowercased() }
        if fields == nil, let reference = request.uri.queryParameters.get("consultation"), !reference.isEmpty {
            guard let (_, document) = try await consultation(reference: reference, of: staff.account.id) else {
                return message(
                    "Not found", "You have no consultation with the reference \(reference).", staff: staff,
                    status: .notFound, link: ("/contacts/new", "The referral form"))
            }
            values["consultation"] = reference
            values["concern"] =
                "Following no-name consultation \(reference): \(document["concern"] as? String ?? "")"
            values["actionsTaken"] = "Advice from the consultation: \(document["advice"] as? String ?? "")"
        }
        await log.record("contact-form", staff: staff.account.id, at: now())
        var context: [String: Any] = ["title": "Make a contact", "problem": problem ?? false]
        context["organisation"] = staff.account.organisation ?? ""
        context["jobTitle"] = staff.account.jobTitle ?? ""
        context["today"] = UKTime.localDate(now()).description
        for (key, value) in values { context["v_" + key] = value }
        for key in ["parentsAware", "consent"] {
            if let value = values[key] { context["\(key)_\(value)"] = true }
        }
        return page("contact-form", context, staff: staff, status: problem == nil ? .ok : .badRequest)
    }

    /// This professional's consultation with `reference`, as it reached this portal.
    private func consultation(reference: String, of staffID: String) async throws -> (StoredItem, [String: Any])? {
        for (item, summary) in try await desk.summaries()
        where item.type == DocumentType.consultation.rawValue && summary.owner == staffID
            && summary.reference == reference
        {
            if let opened = try await desk.open(id: item.id, markingSeen: false) { return (item, opened.document) }
        }
        return nil
    }

    /// The posted referral form as a `mash.contact/1`, read by the same reader the hub uses: what it refuses, the
    /// form refuses, naming the field.
    static func contact(_ fields: Form, account: StaffAccount, now: Date) -> Result<Contact, FormProblem> {
        let value = { (key: String) in Self.trimmed(fields.values[key]) }
        guard let id = UUID(uuidString: value("contactID"))?.uuidString.lowercased() else {
            return .failure(FormProblem(reason: "the form had no contact id; open the form again"))
        }
        let at = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        var child: [String: Any] = [:]
        for key in ["forename", "surname", "dateOfBirth", "gender", "address", "postcode", "nhsNumber", "upn"] {
            if !value("child_" + key).isEmpty { child[key] = value("child_" + key) }
        }
        var household: [[String: Any]] = []
        for index in 1...3 {
            var member: [String: Any] = [:]
            for key in ["role", "forename", "surname", "dateOfBirth"] where !value("member\(index)_\(key)").isEmpty {
                member[key] = value("member\(index)_\(key)")
            }
            if !member.isEmpty { household.append(member) }
        }
        var consent: [String: Any] = ["status": value("consent")]
        if !value("consentReason").isEmpty, value("consent") != "given" { consent["reason"] = value("consentReason") }
        var referrer: [String: Any] = [
            "staffID": account.id, "name": account.name, "organisation": account.organisation ?? "",
            "role": account.jobTitle ?? "",
        ]
        if !value("phone").isEmpty { referrer["phone"] = value("phone") }
        if !value("email").isEmpty { referrer["email"] = value("email") }
        var object: [String: Any] = [
            "schema": DocumentType.contact.rawValue, "id": id, "reference": reference("MC", id: id, at: at),
            "sentAt": Instant.format(at), "referrer": referrer, "child": child, "concern": value("concern"),
            "actionsTaken": value("actionsTaken"), "consent": consent,
        ]
        if let aware = ["yes": true, "no": false][value("parentsAware")] { object["parentsAware"] = aware }
        if !household.isEmpty { object["household"] = household }
        if !value("consultation").isEmpty { object["consultation"] = value("consultation") }
        do {
            return .success(try Contact(json: DocumentWriter.encode(object), source: "the referral form", now: now))
        } catch let error as DocumentError {
            return .failure(FormProblem(reason: Self.formWords(error)))
        } catch {
            return .failure(FormProblem(reason: "\(error)"))
        }
    }

    /// A reader's complaint in the form's words: the field's label, then the problem.
    static func formWords(_ error: DocumentError) -> String {
        let labels = [
            "child.forename": "the child's first name", "child.surname": "the child's last name",
            "child.dateOfBirth": "the child's date of birth", "child.postcode": "the child's postcode",
            "child.nhsNumber": "the child's NHS number", "child.upn": "the child's UPN",
            "concern": "the concern", "actionsTaken": "what you have done", "parentsAware": "whether the parents know",
            "consent.status": "whether the parents consented", "consent.reason": "why consent was not given",
            "rationale": "the rationale", "feedback": "what the referrer is told", "advice": "the advice",
            "professional.organisation": "the professional's organisation", "professional.role": "their role",
            "professional.staffID": "the professional's portal account", "text": "the correction",
        ]
        let field =
            labels[error.field] ?? (error.field.hasPrefix("household") ? "a member of the household" : error.field)
        return "\(field): \(error.problem)"
    }

    /// `POST /contacts`: sends the contact, or shows the form again with what to put right.
    func sendContact(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.refer) else { return notHere(staff, "referral form") }
        let fields = try await form(request)
        guard Self.same(fields.csrf, staff.session.csrf) else {
            await log.record("csrf-refused", staff: staff.account.id, detail: "contact", at: now())
            return message(
                "Not sent", "The form had expired or did not come from this portal. Nothing was sent.", staff: staff,
                status: .forbidden, link: ("/contacts/new", "The referral form"))
        }
        switch Self.contact(fields, account: staff.account, now: now()) {
        case .failure(let problem):
            await log.record("refused", staff: staff.account.id, detail: "contact: \(problem.reason)", at: now())
            return try await newContact(request, problem: problem.reason, fields: fields)
        case .success(let contact):
            if let reference = contact.consultation,
                try await consultation(reference: reference, of: staff.account.id) == nil
            {
                return try await newContact(
                    request, problem: "you have no consultation with the reference \(reference)", fields: fields)
            }
            let sent = try await desk.send(
                contact.json, type: .contact, id: contact.id, reference: contact.reference, by: staff.account.id,
                headers: ["x-mash-contact": contact.id])
            await log.record(
                sent ? "contact-sent" : "already-sent", staff: staff.account.id, item: contact.id, at: now())
            return try await self.contact(
                request, id: contact.id,
                notice: sent
                    ? "Your contact was sent to the Single Point of Access. Your reference is \(contact.reference)."
                    : "This contact was sent already; nothing more was sent.")
        }
    }

    /// One of this professional's contacts and its timeline; anyone else's is not found.
    func contact(_ request: Request, id: String, notice: String? = nil) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.refer) else { return notHere(staff, "contacts") }
        guard let record = try await desk.store.sentRecord(id), record.type == DocumentType.contact.rawValue,
            record.staffID == staff.account.id
        else {
            await log.record("not-found", staff: staff.account.id, item: id, detail: "contact", at: now())
            return message(
                "Not found", "There is no such contact among yours.", staff: staff, status: .notFound,
                link: ("/contacts", "My contacts"))
        }
        await log.record("view-contact", staff: staff.account.id, item: id, at: now())
        let document = try desk.document(of: record)
        var timeline: [[String: Any]] = [["at": UKTime.dateTime(record.sentAt), "what": "You sent the contact"]]
        if let delivered = record.deliveredAt {
            timeline.append(["at": UKTime.dateTime(delivered), "what": "It reached the hub"])
        }
        var outcome: Any = false
        if let (item, summary) = try await outcomesByContact(for: staff.account.id)[id],
            let opened = try await desk.open(item.id)
        {
            if let told = (opened.document["at"] as? String).flatMap(Instant.parse) {
                timeline.append(["at": UKTime.dateTime(told), "what": "The SPA recorded the outcome and told you"])
            }
            timeline.append(["at": UKTime.dateTime(item.receivedAt), "what": "The outcome reached this portal"])
            outcome = [
                "title": summary.title, "feedback": opened.document["feedback"] as? String ?? "", "itemID": item.id,
                "challengeable": summary.enquiryID != nil && configuration.actions.contains(.challenge),
            ]
        }
        // A challenge to the decision on it: each stage the hub sent back to this professional.
        for (item, summary) in try await desk.summaries()
        where item.type == DocumentType.challengeStage.rawValue && summary.contactID == id
            && summary.owner == staff.account.id
        {
            timeline.append([
                "at": UKTime.dateTime(item.receivedAt), "what": "Your \(summary.title.lowercased())",
                "stageHref": "/items/\(item.id)",
            ])
        }
        return page(
            "contact",
            [
                "title": "Contact \(record.reference)", "reference": record.reference, "notice": notice ?? false,
                "status": status(of: record, outcome: nil), "outcome": outcome, "timeline": timeline,
                "fields": DeskDocument.fields(document.filter { $0.key != "id" }),
            ], staff: staff)
    }

    /// `POST /items/{id}/correction` on a portal: the professional asks for a consultation's summary to be
    /// corrected.
    func askCorrection(_ request: Request, item id: String) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        let fields = try await form(request)
        guard Self.same(fields.csrf, staff.session.csrf) else {
            await log.record("csrf-refused", staff: staff.account.id, item: id, detail: "correction", at: now())
            return message("Not sent", "The form had expired. Nothing was sent.", staff: staff, status: .forbidden)
        }
        guard configuration.actions.contains(.refer), let opened = try await desk.open(id: id, markingSeen: false),
            opened.stored.type == DocumentType.consultation.rawValue, opened.summary.owner == staff.account.id,
            let consultationID = opened.summary.consultationID
        else {
            await log.record("not-found", staff: staff.account.id, item: id, detail: "correction", at: now())
            return message("Not found", "There is no such consultation among yours.", staff: staff, status: .notFound)
        }
        let correction = ConsultationCorrection(
            id: UUID().uuidString.lowercased(), consultationID: consultationID, reference: opened.summary.reference,
            requestedBy: staff.account.id, text: Self.trimmed(fields.values["text"]),
            requestedAt: Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down)))
        do {
            _ = try ConsultationCorrection(json: correction.json, source: "the correction form", now: now())
        } catch let error as DocumentError {
            return message(
                "Not sent", "Nothing was sent: \(Self.formWords(error)).", staff: staff, status: .badRequest,
                link: ("/items/\(id)", "Back to the consultation"))
        }
        _ = try await desk.send(
            correction.json, type: .consultationCorrection, id: correction.id, reference: correction.reference,
            by: staff.account.id, headers: ["x-mash-consultation": consultationID])
        await log.record("correction-asked", staff: staff.account.id, item: id, at: now())
        return try await item(
            request, id: id,
            notice: "Your correction was sent to the No-Name Consultation Service; they will reply on this portal.")
    }

    // MARK: the SPA's screening

    /// `/screening`: contacts waiting to be screened, soonest due first, then those screened.
    func screeningList(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.screen) else { return notHere(staff, "contacts to screen") }
        let now = now()
        let contacts = try await desk.summaries().filter { $0.0.type == DocumentType.contact.rawValue }
        await log.record("screening-list", staff: staff.account.id, detail: "\(contacts.count) contacts", at: now)
        let rows = { (list: [(StoredItem, ItemSummary)]) in
            list.map { item, summary in
                var row = describe(item, summary, now: now)
                row["about"] = item.restrictedBy == nil ? summary.about ?? "" : "Restricted: not shown"
                row["received"] = UKTime.dateTime(item.receivedAt)
                return row
            }
        }
        let waiting = contacts.filter { $0.0.status != .done }
            .sorted { ($0.0.dueAt ?? .distantFuture) < ($1.0.dueAt ?? .distantFuture) }
        let screened = contacts.filter { $0.0.status == .done }
        let overdue = waiting.filter { ($0.0.dueAt ?? .distantFuture) < now }.count
        return page(
            "screening",
            [
                "title": "Contacts to screen", "waiting": rows(waiting), "hasWaiting": !waiting.isEmpty,
                "screened": rows(screened), "hasScreened": !screened.isEmpty,
                "count": waiting.count == 1 ? "1 contact" : "\(waiting.count) contacts",
                "overdue": overdue == 0 ? false : "\(overdue) not screened by the end of the next working day.",
                "mayScreen": staff.account.may(.screen),
            ], staff: staff)
    }

    static func screeningForm() -> [String: Any] {
        [
            "decisions": ScreeningDecision.allCases.map {
                ["value": $0.rawValue, "text": DeskDocument.contactOutcomeName($0.rawValue)]
            },
            "grounds": OverrideRationale.allCases.map {
                ["value": $0.rawValue, "text": DeskDocument.words($0.rawValue)]
            },
        ]
    }

    /// The posted screening form. A MASH enquiry needs its RAG and either consent (by whom) or an override with
    /// its ground, details and the agreement of every agency to be asked — checked here by the same gate as at
    /// the hub, so a screening the hub would refuse is never sent.
    static func screeningAction(_ fields: Form, by staffID: String, now: Date) -> Result<Desk.ActionForm, FormProblem> {
        let value = { (key: String) in Self.trimmed(fields.values[key]) }
        guard let decision = ScreeningDecision(rawValue: value("decision")) else {
            return .failure(FormProblem(reason: "choose the screening decision"))
        }
        guard !value("rationale").isEmpty else { return .failure(FormProblem(reason: "write the rationale")) }
        guard !value("feedback").isEmpty else {
            return .failure(FormProblem(reason: "write what the referrer is told (the advice, or what happens next)"))
        }
        let at = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        var screening = Screening(
            contactID: "", decision: decision, rationale: value("rationale"), feedback: value("feedback"),
            screenedBy: staffID, screenedAt: at)
        if decision == .mashEnquiry {
            guard let rag = RAG(rawValue: value("rag")) else {
                return .failure(FormProblem(reason: "choose the enquiry's RAG rating"))
            }
            let agencies = value("agencies").split(whereSeparator: { $0 == "," || $0 == " " }).map {
                $0.lowercased()
            }
            let consent: Consent
            switch value("consent") {
            case "given":
                guard !value("givenBy").isEmpty else {
                    return .failure(FormProblem(reason: "say who gave consent (a role, such as mother)"))
                }
                consent = .given(by: value("givenBy"), at: at)
            case "override":
                guard let ground = OverrideRationale(rawValue: value("ground")), !value("details").isEmpty else {
                    return .failure(FormProblem(reason: "an override needs its ground and the details"))
                }
                guard !agencies.isEmpty, !value("agreedBy").isEmpty else {
                    return .failure(
                        FormProblem(
                            reason:
                                "an override needs the agencies to be asked and who agreed for them (each owns its information)"
                        ))
                }
                consent = .overridden(
                    ConsentOverride(
                        practiceManager: staffID,
                        agencies: agencies.map { AgencyAgreement(agency: $0, agreedBy: value("agreedBy")) },
                        rationale: ground, details: value("details"), agreedAt: at))
            default:
                return .failure(
                    FormProblem(
                        reason: "a MASH enquiry needs consent or an override: nothing may be shared without either"))
            }
            do {
                try ConsentGate.check(consent, agencies: agencies)
            } catch {
                return .failure(FormProblem(reason: error.reason))
            }
            var born: LocalDate?
            if !value("dateOfBirth").isEmpty {
                guard let date = LocalDate(value("dateOfBirth")), date <= UKTime.localDate(now) else {
                    return .failure(FormProblem(reason: "the child's date of birth is not a date in the past"))
                }
                born = date
            }
            screening.enquiry = .init(rag: rag, consent: consent, agencies: agencies, dateOfBirth: born)
        }
        var form = Desk.ActionForm()
        form.screening = screening
        return .success(form)
    }

    // MARK: the No-Name Consultation Service

    /// `/consultations`: the service's hours and whether it is open, and the consultations recorded here.
    func consultations(_ request: Request, notice: String? = nil) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.consult), let hours = configuration.consultationHours else {
            return notHere(staff, "consultations")
        }
        let now = now()
        let sent = try await desk.store.sent(type: DocumentType.consultation.rawValue, by: nil)
        let corrections = try await desk.summaries().filter {
            $0.0.type == DocumentType.consultationCorrection.rawValue
        }
        await log.record("consultations", staff: staff.account.id, detail: "\(sent.count) listed", at: now)
        let rows: [[String: Any]] = try sent.map { record in
            let document = try desk.document(of: record)
            let professional = document["professional"] as? [String: Any] ?? [:]
            let asked = corrections.filter { $0.1.consultationID == record.id }
            return [
                "reference": record.reference, "held": UKTime.dateTime(record.sentAt),
                "professional":
                    "\(professional["role"] as? String ?? ""), \(professional["organisation"] as? String ?? "")",
                "recommendation": Self.recommendationName(document["recommendation"] as? String ?? ""),
                "socialWorker": document["socialWorker"] as? String ?? "",
                "delivered": record.deliveredAt.map { "Sent to the hub \(UKTime.dateTime($0))" }
                    ?? "Waiting to reach the hub",
                "corrections": asked.map { ["id": $0.0.id] }, "hasCorrections": !asked.isEmpty,
            ]
        }
        return page(
            "consultations",
            [
                "title": "No-name consultations", "open": Self.serviceHours(hours, now: now), "notice": notice ?? false,
                "consultations": rows, "hasConsultations": !rows.isEmpty, "mayConsult": staff.account.may(.consult),
            ], staff: staff)
    }

    /// Whether the service is open now, in words, and when it next opens.
    static func serviceHours(_ hours: ConsultationHours, now: Date) -> String {
        let calendar = hours.calendar
        if calendar.isOpen(at: now), let session = calendar.session(on: calendar.localDate(of: now)) {
            return "The service is open now, until \(UKTime.dateTime(session.closes))."
        }
        return "The service is closed now; it next opens \(UKTime.dateTime(calendar.nextOpening(atOrAfter: now)))."
    }

    static func recommendationName(_ code: String) -> String {
        switch ConsultationRecommendation(rawValue: code) {
        case .adviceOnly: "Advice only: the professional's own service meets the need"
        case .earlyHelp: "Talk to the family about Early Help"
        case .makeContact: "Make a contact to the SPA"
        case .callPolice: "Call the police (999), then make a contact"
        case nil: DeskDocument.words(code)
        }
    }

    func newConsultation(_ request: Request, problem: String? = nil, fields: Form? = nil) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.consult), let hours = configuration.consultationHours else {
            return notHere(staff, "consultations")
        }
        var context: [String: Any] = [
            "title": "Record a no-name consultation", "problem": problem ?? false,
            "open": Self.serviceHours(hours, now: now()),
            "recommendations": ConsultationRecommendation.allCases.map { code in
                [
                    "value": code.rawValue, "text": Self.recommendationName(code.rawValue),
                    "checked": fields?.values["recommendation"] == code.rawValue,
                ]
            },
        ]
        var values = fields?.values ?? [:]
        if values["consultationID"] == nil { values["consultationID"] = UUID().uuidString.lowercased() }
        if values["heldAt"] == nil { values["heldAt"] = UKTime.inputValue(now()) }
        for (key, value) in values { context["v_" + key] = value }
        return page("consultation-form", context, staff: staff, status: problem == nil ? .ok : .badRequest)
    }

    /// The posted consultation as a `mash.consultation/1`, read by the hub's reader (which refuses identifying
    /// details).
    static func consultation(_ fields: Form, by staffID: String, now: Date) -> Result<Consultation, FormProblem> {
        let value = { (key: String) in Self.trimmed(fields.values[key]) }
        guard let id = UUID(uuidString: value("consultationID"))?.uuidString.lowercased() else {
            return .failure(FormProblem(reason: "the form had no consultation id; open the form again"))
        }
        guard let heldAt = UKTime.fromInput(value("heldAt")) else {
            return .failure(FormProblem(reason: "give the date and time of the consultation"))
        }
        let object: [String: Any] = [
            "schema": DocumentType.consultation.rawValue, "id": id, "reference": reference("NNC", id: id, at: heldAt),
            "heldAt": Instant.format(heldAt),
            "professional": [
                "staffID": value("professional"), "organisation": value("organisation"), "role": value("role"),
            ],
            "concern": value("concern"), "advice": value("advice"), "recommendation": value("recommendation"),
            "socialWorker": staffID,
        ]
        do {
            return .success(
                try Consultation(json: DocumentWriter.encode(object), source: "the consultation form", now: now))
        } catch let error as DocumentError {
            if error.field == "professional.staffID" {
                return .failure(FormProblem(reason: "give the professional's portal account (such as t.teacher)"))
            }
            if error.field == "recommendation" { return .failure(FormProblem(reason: "choose the recommendation")) }
            return .failure(FormProblem(reason: Self.formWords(error)))
        } catch {
            return .failure(FormProblem(reason: "\(error)"))
        }
    }

    func recordConsultation(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.consult) else { return notHere(staff, "consultations") }
        let fields = try await form(request)
        guard Self.same(fields.csrf, staff.session.csrf) else {
            await log.record("csrf-refused", staff: staff.account.id, detail: "consultation", at: now())
            return message(
                "Not recorded", "The form had expired. Nothing was recorded.", staff: staff, status: .forbidden)
        }
        guard staff.account.may(.consult) else {
            await log.record("refused", staff: staff.account.id, detail: "consultation: no spa role", at: now())
            return message(
                "Not recorded",
                "Nothing was recorded: only staff with the spa role may record consultations (ask the desk's administrator).",
                staff: staff, status: .forbidden, link: ("/consultations", "Consultations"))
        }
        switch Self.consultation(fields, by: staff.account.id, now: now()) {
        case .failure(let problem):
            await log.record("refused", staff: staff.account.id, detail: "consultation: \(problem.reason)", at: now())
            return try await newConsultation(request, problem: problem.reason, fields: fields)
        case .success(let consultation):
            let sent = try await desk.send(
                consultation.json, type: .consultation, id: consultation.id, reference: consultation.reference,
                by: staff.account.id, headers: ["x-mash-consultation": consultation.id])
            await log.record(
                sent ? "consultation-recorded" : "already-sent", staff: staff.account.id, item: consultation.id,
                at: now())
            return try await consultations(
                request,
                notice: sent
                    ? "Consultation \(consultation.reference) recorded; its summary goes to the professional's portal."
                    : "This consultation was recorded already; nothing more was sent.")
        }
    }
}
