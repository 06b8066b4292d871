import Foundation
import GRDB
import MASHCore
import MASHService
import Sealing

/// The CSC open-case register as the coordinator keeps it: a child's pseudonymous reference (name and date of
/// birth, keyed) and the sealed allocation. Fed by `mash.open-case/1` messages and
/// `mash.open-case-register/1` imports (`mashctl cases import`).
public struct OpenCaseRegister: Sendable {
    let keyring: DataKeyring

    /// The register of the coordinator whose keys are in `keysDirectory`.
    public init(keysDirectory: String, identity: String = "coordinator") throws {
        keyring = try DataKeyring.loadOrCreate(
            at: (keysDirectory as NSString).appendingPathComponent("\(identity)/data-at-rest.key"))
    }

    init(keyring: DataKeyring) { self.keyring = keyring }

    /// How the register and the roll index find a child by name and date of birth without holding either.
    func childRef(forename: String, surname: String, born: LocalDate) -> String {
        keyring.pseudonym(of: "child:" + RollPupil.identityKey(forename: forename, surname: surname, born: born))
    }

    func childRef(_ person: Person) -> String? {
        guard let forename = person.forename, let surname = person.surname, let born = person.dateOfBirth else {
            return nil
        }
        return childRef(forename: forename, surname: surname, born: born)
    }

    func record(_ update: OpenCaseUpdate, _ db: any SQLDatabase, now: Date) throws {
        guard let ref = childRef(update.child) else { return }
        guard update.open else {
            try db.executeCached(sql: "DELETE FROM open_case WHERE child_ref = ?", arguments: [ref])
            return
        }
        var members = ["socialWorker": update.socialWorker ?? "", "team": update.team ?? ""]
        members["placingAuthority"] = update.placingAuthority
        let allocation = DocumentWriter.encode(members)
        try db.executeCached(
            sql: """
                INSERT INTO open_case (child_ref, allocation, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (child_ref) DO UPDATE SET allocation = excluded.allocation, updated_at = excluded.updated_at
                """,
            arguments: [
                ref, Data(try keyring.seal(allocation, context: Array("open_case:\(ref)".utf8))),
                now.timeIntervalSince1970,
            ])
    }

    func openCase(of person: Person, _ db: any SQLDatabase) throws -> OpenCase? {
        guard let ref = childRef(person),
            let sealed = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT allocation FROM open_case WHERE child_ref = ?"), arguments: [ref])
        else { return nil }
        let plain = try keyring.open(Array(sealed), context: Array("open_case:\(ref)".utf8))
        let object = try JSONSerialization.jsonObject(with: Data(plain)) as? [String: String] ?? [:]
        return OpenCase(
            socialWorker: object["socialWorker"] ?? "", team: object["team"] ?? "",
            placingAuthority: object["placingAuthority"])
    }
}
