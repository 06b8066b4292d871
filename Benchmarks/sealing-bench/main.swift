import Foundation
import Sealing

// The gateway side of `make bench` for sealing: seal (sign + encrypt) and open (decrypt + verify) COUNT 1 KiB
// payloads from one agency to another. Prints one JSON line: {"seal_open_per_s": ...}.

let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2000 : 2000
let police = try AgencyKeyPair(agency: "police", privateKey: try P256Key.generate())
let coordinator = try AgencyKeyPair(agency: "coordinator", privateKey: try P256Key.generate())
let sealer = Sealer(sender: police)
let opener = Opener(recipient: "coordinator", keyPairs: [coordinator], trusted: TrustStore([police.publicKey]))
let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1024)

// Warm up, and check the round trip once, so a broken build cannot report a rate.
let check = try opener.open(try sealer.seal(payload, type: "bench", messageID: "warm-up", to: coordinator.publicKey))
precondition(check.payload == payload)

let start = ContinuousClock.now
for i in 0..<count {
    let sealed = try sealer.seal(payload, type: "bench", messageID: "m\(i)", to: coordinator.publicKey)
    _ = try opener.open(sealed)
}
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("{\"seal_open_per_s\": \(String(format: "%.1f", Double(count) / seconds))}")
