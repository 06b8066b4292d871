import Foundation
import MASHCore
import MASHTesting
import Testing

@Suite("Bank holidays cross-checked with Python's `holidays` package")
struct BankHolidaysCrossCheckTests {
    @Test("every weekday bank holiday 2012–2028 in GOV.UK's file, and no other, is one in `holidays`")
    func sameWeekdayHolidays() throws {
        guard let python = ProcessInfo.processInfo.environment["MASH_PYTHON"], !python.isEmpty else {
            throw TestBroker.Missing(variable: "MASH_PYTHON (a Python with `holidays`; `make test` creates it)")
        }
        let output = try Shell.run(python, [Repository.path("Tests/Interop/bank_holidays.py"), "2012", "2028"])
        let theirs = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String])
        let ours = mashCalendar.holidays.map(\.description)
        #expect(Set(ours) == Set(theirs))
        #expect(ours.count == 140)
    }
}
