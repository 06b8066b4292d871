import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTLS
import Logging
import MASHAgency
import MASHCore
import Mustache
import NIOCore
import NIOPosix
import NIOSSL
import Sealing
import ServiceLifecycle

/// The desk's web pages over HTTPS: sign-in, the inbox, an item, the actions. Every page but sign-in needs a
/// live session; every form carries the session's CSRF token; every view and action goes to the access log.
struct DeskWeb {
    let service: any Service

    static let sessionCookie = "mash_session"
    static let signInCookie = "mash_sign_in"

    init(desk: Desk, listening: @escaping @Sendable (Int) -> Void) throws {
        let configuration = desk.configuration
        let pages = Pages(desk: desk, library: try Templates.library())
        let router = Router(context: BasicRequestContext.self)
        router.get("/") { request, _ -> Response in
            try await pages.staff(request) == nil ? .redirect(to: "/sign-in") : .redirect(to: "/inbox")
        }
        router.get("/style.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Templates.style)))
        }
        router.get("/sign-in") { request, _ in try await pages.signInPage(request) }
        router.post("/sign-in") { request, _ in try await pages.signIn(request) }
        router.post("/sign-out") { request, _ in try await pages.signOut(request) }
        router.get("/inbox") { request, _ in try await pages.inbox(request) }
        router.get("/triage") { request, _ in try await pages.triage(request) }
        router.get("/missing") { request, _ in try await pages.missing(request) }
        router.get("/panel") { request, _ in try await pages.panel(request) }
        router.get("/contacts") { request, _ in try await pages.contacts(request) }
        router.get("/contacts/new") { request, _ in try await pages.newContact(request) }
        router.post("/contacts") { request, _ in try await pages.sendContact(request) }
        router.get("/contacts/{id}") { request, context in
            try await pages.contact(request, id: context.parameters.get("id") ?? "")
        }
        router.get("/screening") { request, _ in try await pages.screeningList(request) }
        router.get("/consultations") { request, _ in try await pages.consultations(request) }
        router.get("/consultations/new") { request, _ in try await pages.newConsultation(request) }
        router.post("/consultations") { request, _ in try await pages.recordConsultation(request) }
        router.post("/items/{id}/correction") { request, context in
            try await pages.askCorrection(request, item: context.parameters.get("id") ?? "")
        }
        router.get("/items/{id}") { request, context in
            try await pages.item(request, id: context.parameters.get("id") ?? "")
        }
        router.post("/items/{id}/{action}") { request, context in
            try await pages.act(
                request, id: context.parameters.get("id") ?? "", action: context.parameters.get("action") ?? "")
        }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(configuration.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: configuration.privateKey, format: .pem)))
        var logger = desk.logger
        logger.logLevel = max(logger.logLevel, .notice)
        service = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(
                address: .hostname(configuration.listen, port: configuration.port),
                serverName: "mash-desk"),
            onServerRunning: { channel in listening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

/// The pages and what their forms do.
struct Pages: Sendable {
    let desk: Desk
    let library: MustacheLibrary
    /// A bcrypt hash checked when the staff id is unknown, so that a wrong id costs as long as a wrong password.
    static let decoy = Bcrypt.hash("decoy password for unknown staff ids", cost: 12)

    var configuration: DeskConfiguration { desk.configuration }
    var log: AccessLog { desk.accessLog }
    func now() -> Date { desk.now() }

    struct Staff {
        var account: StaffAccount
        var session: StaffSession
        var tokenHash: String
    }

    // MARK: sessions

    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return Digest.hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    static func hash(_ token: String) -> String { Digest.hex(Digest.sha256(Array(token.utf8))) }

    /// The signed-in member of staff, if the request carries a live session cookie.
    func staff(_ request: Request) async throws -> Staff? {
        guard let token = request.cookies[DeskWeb.sessionCookie]?.value, !token.isEmpty else { return nil }
        let tokenHash = Self.hash(token)
        guard
            let session = try await desk.store.session(
                tokenHash: tokenHash, idle: configuration.sessionIdle, now: now()),
            let account = configuration.staff.first(where: { $0.id == session.staffID })
        else {
            await log.record("session-refused", staff: nil, detail: "unknown, ended or idle session", at: now())
            return nil
        }
        return Staff(account: account, session: session, tokenHash: tokenHash)
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: true, httpOnly: true, sameSite: .strict)
    }

    /// What the desk's forms post (each form a few of these).
    struct Form: Decodable {
        var csrf: String?
        var staff: String?
        var password: String?
        var outcome: String?
        var rationale: String?
        // A triage outcome, and the enquiry it may open.
        var decision: String?
        var child: String?
        var rag: String?
        var consent: String?
        var givenBy: String?
        var ground: String?
        var details: String?
        // A return interview.
        var response: String?
        var offeredAt: String?
        var offeredBy: String?
        var independent: String?
        var heldAt: String?
        var record: String?
        /// The checkboxes (`theme`, `flag`), each name given once per box ticked.
        var multiple: [String: [String]] = [:]
        /// Every field by name (its first value): the front door's forms read these.
        var values: [String: String] = [:]

        enum CodingKeys: String, CodingKey {
            case csrf, staff, password, outcome, rationale, decision, child, rag, consent, givenBy, ground, details
            case response, offeredAt, offeredBy, independent, heldAt, record
        }
    }

    /// The posted form; a body that is not a form counts as an empty one (it then fails its CSRF check).
    func form(_ request: Request) async throws -> Form {
        let text = String(buffer: try await request.body.collect(upTo: 64 * 1024))
        var form = (try? URLEncodedFormDecoder().decode(Form.self, from: text)) ?? Form()
        var components = URLComponents()
        components.percentEncodedQuery = text.replacingOccurrences(of: "+", with: "%20")
        for item in components.queryItems ?? [] {
            if item.name == "theme" || item.name == "flag" {
                form.multiple[item.name, default: []].append(item.value ?? "")
            }
            if form.values[item.name] == nil { form.values[item.name] = item.value ?? "" }
        }
        return form
    }

    /// Constant-time comparison of a submitted token with the expected one.
    static func same(_ a: String?, _ b: String) -> Bool {
        guard let a, a.utf8.count == b.utf8.count else { return false }
        return zip(a.utf8, b.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    // MARK: rendering

    func page(_ template: String, _ values: [String: Any], staff: Staff?, status: HTTPResponse.Status = .ok)
        -> Response
    {
        var context = values
        context["desk"] = configuration.name
        if let staff {
            context["staff"] = [
                "name": staff.account.name, "id": staff.account.id, "csrf": staff.session.csrf,
                "triage": configuration.actions.contains(.triage),
                "missing": configuration.shows.contains(.missingNotice),
                "refer": configuration.actions.contains(.refer), "screen": configuration.actions.contains(.screen),
                "consult": configuration.actions.contains(.consult),
            ]
        } else {
            context["staff"] = false
        }
        let html = library.render(context, withTemplate: template) ?? "template \(template) is missing"
        return Response(
            status: status, headers: Self.headers(contentType: "text/html; charset=utf-8"),
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func headers(contentType: String) -> HTTPFields {
        [
            .contentType: contentType, .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!:
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("Strict-Transport-Security")!: "max-age=31536000",
            HTTPField.Name("X-Frame-Options")!: "DENY",
        ]
    }

    func message(
        _ heading: String, _ text: String, staff: Staff?, status: HTTPResponse.Status,
        link: (href: String, text: String)? = nil
    ) -> Response {
        let link = link ?? (staff == nil ? ("/sign-in", "Sign in") : ("/inbox", "Back to the inbox"))
        return page(
            "message", ["title": heading, "heading": heading, "text": text, "link": link.href, "linkText": link.text],
            staff: staff, status: status)
    }

    // MARK: sign-in and out

    func signInPage(_ request: Request, problem: String? = nil, staffID: String = "", status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        if try await staff(request) != nil, problem == nil { return .redirect(to: "/inbox") }
        let csrf = Self.token()
        var response = page(
            "sign-in", ["title": "Sign in", "csrf": csrf, "problem": problem ?? false, "staffID": staffID],
            staff: nil, status: status)
        response.setCookie(Self.cookie(DeskWeb.signInCookie, csrf, maxAge: 3600))
        return response
    }

    func signIn(_ request: Request) async throws -> Response {
        let fields = try await form(request)
        let staffID = (fields.staff ?? "").trimmingCharacters(in: .whitespaces)
        guard let expected = request.cookies[DeskWeb.signInCookie]?.value, Self.same(fields.csrf, expected) else {
            await log.record("csrf-refused", staff: staffID.isEmpty ? nil : staffID, detail: "sign-in", at: now())
            return try await signInPage(
                request, problem: "The form had expired. Please sign in again.", status: .forbidden)
        }
        guard DeskConfiguration.isStaffID(staffID), let password = fields.password, !password.isEmpty else {
            return try await signInPage(request, problem: "Enter your staff id and password.", status: .badRequest)
        }
        if let until = try await desk.store.lockedUntil(staffID, now: now()) {
            await log.record("locked", staff: staffID, detail: "sign-in while locked", at: now())
            return try await signInPage(
                request,
                problem:
                    "This account is locked after repeated failed sign-ins until \(UKTime.dateTime(until)). Ask the desk's administrator if you need in sooner.",
                staffID: staffID, status: .forbidden)
        }
        let account = configuration.staff.first { $0.id == staffID }
        let hash = account?.passwordHash ?? Self.decoy
        // bcrypt takes a quarter of a second by design: it runs on NIO's blocking pool.
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        guard let account, matches else {
            let locked = try await desk.store.recordFailure(
                staffID, limit: configuration.lockoutAfter, lockFor: configuration.lockoutFor, now: now())
            await log.record(
                locked == nil ? "sign-in-refused" : "locked", staff: staffID, detail: "wrong staff id or password",
                at: now())
            if let locked {
                return try await signInPage(
                    request,
                    problem:
                        "The staff id or password is not right, and after \(configuration.lockoutAfter) failures in a row this account is locked until \(UKTime.dateTime(locked)).",
                    staffID: staffID, status: .forbidden)
            }
            return try await signInPage(
                request, problem: "The staff id or password is not right.", staffID: staffID, status: .unauthorized)
        }
        let token = Self.token()
        try await desk.store.startSession(
            tokenHash: Self.hash(token), staffID: account.id, csrf: Self.token(), now: now())
        await log.record("sign-in", staff: account.id, at: now())
        var response = Response.redirect(to: "/inbox")
        response.setCookie(Self.cookie(DeskWeb.sessionCookie, token))
        response.setCookie(Self.cookie(DeskWeb.signInCookie, "", maxAge: 0))
        return response
    }

    func signOut(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        let fields = try await form(request)
        guard Self.same(fields.csrf, staff.session.csrf) else {
            await log.record("csrf-refused", staff: staff.account.id, detail: "sign-out", at: now())
            return message("Not signed out", "The form had expired.", staff: staff, status: .forbidden)
        }
        try await desk.store.endSession(tokenHash: staff.tokenHash, now: now())
        await log.record("sign-out", staff: staff.account.id, at: now())
        var response = message("Signed out", "You have signed out of this desk.", staff: nil, status: .ok)
        response.setCookie(Self.cookie(DeskWeb.sessionCookie, "", maxAge: 0))
        return response
    }

    // MARK: the inbox and items

    func inbox(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        let now = now()
        // On a portal each professional sees only what is theirs.
        let items = try await desk.summaries().filter { $0.1.owner.map { $0 == staff.account.id } ?? true }
        await log.record("inbox", staff: staff.account.id, detail: "\(items.count) items listed", at: now)
        let rows: [[String: Any]] = items.map { item, summary in
            var row = describe(item, summary, now: now)
            row["about"] = item.restrictedBy == nil ? summary.about ?? "" : "Restricted: not shown"
            return row
        }
        let open = items.filter { $0.0.status != .done }.count
        return page(
            "inbox",
            [
                "title": "Inbox", "items": rows, "hasItems": !rows.isEmpty,
                "open": open == 1 ? "1 item" : "\(open) items",
            ], staff: staff)
    }

    func describe(_ item: StoredItem, _ summary: ItemSummary, now: Date) -> [String: Any] {
        let statusText: String
        switch item.status {
        case .new: statusText = "New"
        case .seen: statusText = "Opened"
        case .done:
            let verb =
                switch item.action.flatMap(DeskAction.init) {
                case .decide: "Decided"
                case .triage: "Triaged"
                case .acknowledge, nil: "Acknowledged"
                case .interview: "Interview recorded"
                case .screen: "Screened"
                case .consult, .refer: "Sent"
                case .meet: "Recorded"
                case .challenge: "Challenged"
                case .discuss, .stage: "Resolved"
                }
            let chosen = item.result.flatMap { code in
                item.action == DeskAction.interview.rawValue
                    ? Self.interviewResult(code)
                    : item.action == DeskAction.screen.rawValue
                        ? DeskDocument.contactOutcomeName(code)
                        : DecisionOutcome(rawValue: code).map(DeskDocument.outcomeName)
                            ?? TriageDecision(rawValue: code).map(DeskDocument.triageName)
            }
            statusText =
                (chosen.map { "\($0): \(verb.lowercased())" } ?? verb) + " by \(item.actedBy ?? "?")"
                + (item.actedAt.map { " at \(UKTime.dateTime($0))" } ?? "")
        }
        let overdue = item.status != .done && (item.dueAt.map { $0 < now } ?? false)
        return [
            "id": item.id, "title": summary.title, "reference": summary.reference,
            "rag": summary.rag ?? false, "ragText": summary.rag.map { $0.capitalized } ?? "",
            "due": item.dueAt.map(UKTime.dateTime) ?? "—",
            "left": item.status == .done ? false : item.dueAt.map { UKTime.remaining(until: $0, now: now) } ?? false,
            "overdue": overdue, "status": item.status.rawValue, "statusText": statusText,
        ]
    }

    func item(_ request: Request, id: String, notice: String? = nil) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        // On a portal, another professional's item is as not found (and the attempt is logged).
        let found = try await desk.open(id: id, markingSeen: false)
        guard let peek = found, peek.summary.owner.map({ $0 == staff.account.id }) ?? true,
            let opened = try await desk.open(id)
        else {
            await log.record(
                found == nil ? "not-found" : "not-theirs", staff: staff.account.id, item: id, at: now())
            return message(
                "Not found", "There is no such item on this desk.", staff: staff, status: .notFound)
        }
        if opened.stored.restrictedBy != nil {
            await log.record("restricted", staff: staff.account.id, item: id, at: now())
            return message(
                "Restricted",
                "The person this item is about asked for processing of their data to be restricted, and the hub "
                    + "told this desk so. It is not shown until the hub lifts the restriction.",
                staff: staff, status: .forbidden)
        }
        await log.record("view", staff: staff.account.id, item: id, at: now())
        let type = DocumentType(rawValue: opened.stored.type)
        var values = describe(opened.stored, opened.summary, now: now())
        let open = opened.stored.status != .done
        values["title"] = opened.summary.title
        values["about"] = opened.summary.about ?? false
        if type == .missingNotice, opened.summary.about == nil, let episode = opened.summary.episodeID {
            // A found report names no one: the child is the one its episode's missing report names.
            values["about"] =
                try await desk.summaries().first { $0.1.episodeID == episode && $0.1.report == "missing" }?.1.about
                ?? "Not yet known (the police's missing report has not arrived)"
        }
        values["lowerTitle"] = opened.summary.title.prefix(1).lowercased() + opened.summary.title.dropFirst()
        values["received"] = UKTime.dateTime(opened.stored.receivedAt)
        values["meeting"] = opened.summary.triageDate.flatMap(LocalDate.init).map(UKTime.date) ?? false
        values["due"] = opened.stored.dueAt.map(UKTime.dateTime) ?? false
        values["left"] =
            opened.stored.dueAt.map { open ? UKTime.remaining(until: $0, now: now()) : "dealt with" } ?? false
        values["csrf"] = staff.session.csrf
        values["notice"] = notice ?? false
        values["corrections"] = try await desk.notes(of: id).map { ["text": $0] }
        values["fields"] = DeskDocument.fields(opened.document)
        values["decide"] =
            open && type == .decisionPackage && configuration.actions.contains(.decide)
            ? [
                "outcomes": DecisionOutcome.allCases.map {
                    ["value": $0.rawValue, "text": DeskDocument.outcomeName($0)]
                }
            ] : false
        values["triage"] =
            open && type == .danTriage && configuration.actions.contains(.triage)
            ? Self.triageForm(opened.document) : false
        values["interview"] =
            open && type == .missingNotice && opened.summary.report == "found"
                && configuration.actions.contains(.interview)
            ? Self.interviewForm(staffID: staff.account.id, now: now()) : false
        values["screen"] =
            open && type == .contact && configuration.actions.contains(.screen)
            ? Self.screeningForm().merging(["mayScreen": staff.account.may(.screen)]) { $1 } : false
        values["meet"] =
            open && type == .meetingAgenda && configuration.actions.contains(.meet)
            ? (Self.meetingForm(opened.document, staff: staff.account, now: now()).map {
                $0.merging(["now": UKTime.inputValue(now())]) { $1 }
            } ?? false) : false
        // A portal's contact outcome is challenged only when it is a MASH enquiry's decision (it names the enquiry).
        values["challenge"] =
            (type == .outcome || (type == .contactOutcome && opened.summary.enquiryID != nil))
                && configuration.actions.contains(.challenge) ? Self.challengeForm() : false
        if type == .challenge, let challengeID = opened.summary.challengeID,
            configuration.actions.contains(.discuss) || configuration.actions.contains(.stage)
        {
            let current = try await desk.summaries().compactMap { _, summary -> ChallengeStage? in
                summary.challengeID == challengeID ? summary.stage.flatMap(ChallengeStage.init) : nil
            }.max { ChallengeStage.allCases.firstIndex(of: $0)! < ChallengeStage.allCases.firstIndex(of: $1)! }
            let form = Self.stageForm(
                current: current ?? .raised, discuss: configuration.actions.contains(.discuss),
                stage: configuration.actions.contains(.stage) && staff.account.may(.stage))
            values["stageForm"] = current == .resolved ? false : form
            values["stageCurrent"] = (current ?? .raised).words
        } else {
            values["stageForm"] = false
        }
        values["consultation"] =
            type == .consultation && configuration.actions.contains(.refer)
            ? ["reference": opened.summary.reference] : false
        values["acknowledge"] =
            open && type != .decisionPackage && type != .danTriage && values["interview"] as? Bool == false
                && values["screen"] as? Bool == false && values["meet"] as? Bool == false
                && configuration.actions.contains(.acknowledge)
            ? (type == .encompassNotice
                ? "Acknowledge this notice (tells the hub it has been received)" : "Mark as dealt with")
            : false
        return page("item", values, staff: staff)
    }

    func act(_ request: Request, id: String, action name: String) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        let fields = try await form(request)
        guard Self.same(fields.csrf, staff.session.csrf) else {
            await log.record("csrf-refused", staff: staff.account.id, item: id, detail: name, at: now())
            return message(
                "Not recorded", "The form had expired or did not come from this desk. Nothing was recorded.",
                staff: staff, status: .forbidden)
        }
        guard let action = DeskAction(rawValue: name) else {
            return message("Not found", "There is no such action.", staff: staff, status: .notFound)
        }
        let form: Desk.ActionForm
        let read =
            switch action {
            case .interview: Self.interviewAction(fields, by: staff.account.id, now: now())
            case .screen: Self.screeningAction(fields, by: staff.account.id, now: now())
            case .meet:
                try await desk.open(id: id, markingSeen: false).map {
                    Self.meetingAction(fields, document: $0.document, staff: staff.account, now: now())
                } ?? .failure(FormProblem(reason: "there is no such meeting list"))
            case .challenge: Self.challengeAction(fields, staff: staff.account, now: now())
            case .discuss, .stage: Self.stageAction(fields, action: action, staff: staff.account, now: now())
            default: Self.actionForm(fields, by: staff.account.id, at: now())
            }
        switch read {
        case .success(let read): form = read
        case .failure(let problem):
            await log.record("refused", staff: staff.account.id, item: id, detail: problem.reason, at: now())
            return message(
                "Not recorded", "Nothing was recorded: \(problem.reason). Go back to the item and try again.",
                staff: staff, status: .badRequest, link: ("/items/\(id)", "Back to the item"))
        }
        switch try await desk.act(action, on: id, by: staff.account.id, form: form) {
        case .done:
            await log.record(action.rawValue, staff: staff.account.id, item: id, at: now())
            let notice =
                switch action {
                case .decide: "Decision recorded and sent to the hub. The referrer will receive the outcome."
                case .triage: "Triage outcome recorded and sent to the hub."
                case .acknowledge: "Acknowledged. The hub has been told."
                case .interview:
                    form.interview?.concludes == false
                        ? "The offer was recorded and sent to the hub. Record the interview here once it is held."
                        : "The return interview was recorded and sent to the hub; its clock has stopped."
                case .screen:
                    form.screening?.decision == .mashEnquiry
                        ? "Screening recorded: the hub opens the MASH enquiry, and tells the referrer when it is decided."
                        : "Screening recorded and sent to the hub; the referrer is told the outcome."
                case .consult, .refer: "Sent to the hub."
                case .meet:
                    "The meeting was recorded and sent to the hub: each outcome agreed goes to the referrer and to "
                        + "the agencies that answered, so they update their own records."
                case .challenge:
                    "Your challenge was sent to the hub for the First Response Area Manager. You will be told of each stage here."
                case .discuss, .stage:
                    form.stage?.stage == .resolved
                        ? "The challenge is resolved; the party that raised it has been told."
                        : "The stage was recorded; the party that raised it has been told."
                }
            return try await item(request, id: id, notice: notice)
        case .already(let by, let at):
            await log.record("already-done", staff: staff.account.id, item: id, detail: action.rawValue, at: now())
            return try await item(
                request, id: id,
                notice: "This was already dealt with by \(by ?? "someone")"
                    + (at.map { " at \(UKTime.dateTime($0))" } ?? "") + ". Nothing more was sent.")
        case .notAllowed(let reason):
            await log.record("refused", staff: staff.account.id, item: id, detail: reason, at: now())
            return message("Not recorded", "Nothing was recorded: \(reason).", staff: staff, status: .badRequest)
        }
    }
}
