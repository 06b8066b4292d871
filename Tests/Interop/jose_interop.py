"""The other side of the sealing interop test: an independent JOSE library (joserfc) opening what Swift
sealed and sealing what Swift must open, following docs/protocol.md ("Sealed messages") alone.

  jose_interop.py open --key RECIPIENT.pem --trust SENDER.jwk < sealed        prints the opened message as JSON
  jose_interop.py seal --key SENDER.pem --sender ID --to RECIPIENT.jwk --type T --id MESSAGE_ID < payload
"""
import argparse
import json
import sys
import time

from joserfc import jwe, jws
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter

KEY_MANAGEMENT = ["ECDH-ES+A256KW", "A256GCM"]
# joserfc refuses header parameters it does not know; the MASH profile's four are declared here, as
# docs/protocol.md tells partners using strict libraries to do.
SIGNATURE_REGISTRY = JWSRegistry(
    header_registry={
        "iss": HeaderParameter("sending agency", "str", True),
        "aud": HeaderParameter("addressee agency", "str", True),
        "jti": HeaderParameter("message id", "str", True),
        "iat": HeaderParameter("issued at, seconds since the epoch", "int", True),
    },
    algorithms=["ES256"],
)


def public_key(path):
    with open(path) as f:
        jwk = json.load(f)
    agency = jwk.pop("agency")
    jwk.pop("kid", None)
    return ECKey.import_key(jwk), agency


def private_key(path):
    with open(path, "rb") as f:
        return ECKey.import_key(f.read())


def open_message(args):
    recipient = private_key(args.key)
    sender, sender_agency = public_key(args.trust)
    sealed = sys.stdin.read().strip()
    encryption = jwe.decrypt_compact(sealed, recipient, algorithms=KEY_MANAGEMENT)
    assert encryption.protected["kid"] == recipient.thumbprint(), "JWE kid is not the recipient's thumbprint"
    signature = jws.deserialize_compact(encryption.plaintext, sender, registry=SIGNATURE_REGISTRY)
    header = signature.protected
    assert header["kid"] == sender.thumbprint(), "JWS kid is not the sender's thumbprint"
    assert header["iss"] == sender_agency, "iss is not the sender's agency"
    json.dump({
        "payload": signature.payload.decode("utf-8"),
        "jwe": {k: v for k, v in encryption.protected.items() if k != "epk"},
        "jws": header,
    }, sys.stdout)


def seal_message(args):
    sender = private_key(args.key)
    recipient, recipient_agency = public_key(args.to)
    payload = sys.stdin.buffer.read()
    header = {"alg": "ES256", "kid": sender.thumbprint(), "typ": "mash+jws", "cty": args.type,
              "iss": args.sender, "aud": recipient_agency, "jti": args.id, "iat": int(time.time())}
    signed = jws.serialize_compact(header, payload, sender, registry=SIGNATURE_REGISTRY)
    protected = {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "kid": recipient.thumbprint(),
                 "typ": "mash+jwe", "cty": "mash+jws"}
    sys.stdout.write(jwe.encrypt_compact(protected, signed, recipient, algorithms=KEY_MANAGEMENT))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    o = sub.add_parser("open")
    o.add_argument("--key", required=True)
    o.add_argument("--trust", required=True)
    s = sub.add_parser("seal")
    s.add_argument("--key", required=True)
    s.add_argument("--sender", required=True)
    s.add_argument("--to", required=True)
    s.add_argument("--type", required=True)
    s.add_argument("--id", required=True)
    args = parser.parse_args()
    (open_message if args.command == "open" else seal_message)(args)


if __name__ == "__main__":
    main()
