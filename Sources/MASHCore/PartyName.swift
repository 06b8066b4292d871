/// A party's name as the broker users, the key folders and the queues spell it: lower-case letters, digits
/// and '-'.
public enum PartyName {
    public static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }
}
