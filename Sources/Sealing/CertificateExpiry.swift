import COpenSSL
import Foundation

/// When a PEM certificate stops being valid: what the operations endpoint exports for the broker TLS files a
/// service uses, so an alert fires a month before a connection would start failing.
public enum CertificateExpiry {
    /// The `notAfter` of the first certificate in `file`; nil when the file cannot be read as one.
    public static func notAfter(pemFile file: String) -> Date? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        return data.withUnsafeBytes { bytes -> Date? in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
            defer { X509_free(certificate) }
            guard let time = X509_get0_notAfter(certificate) else { return nil }
            var parts = tm()
            guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
            return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
        }
    }
}
