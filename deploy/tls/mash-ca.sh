#!/usr/bin/env bash
# The hub's certificate authority for broker TLS: one CA, a server certificate per RabbitMQ node and a client
# certificate per broker user (each agency, the coordinator, operators). Keys are P-256, made with `openssl`,
# written mode 0600 and never leave DIR except the CA certificate and each party's own pair.
#
#   deploy/tls/mash-ca.sh init DIR [--days N]                   the CA: DIR/ca.pem (public) and DIR/ca.key (keep offline)
#   deploy/tls/mash-ca.sh server DIR NAME HOST... [--days N]    DIR/servers/NAME.pem/.key for a node reached as HOST
#                                                               (DNS names or IP addresses; the first is the CN)
#   deploy/tls/mash-ca.sh client DIR USER [--days N]            DIR/clients/USER.pem/.key; CN=USER, the broker user
#   deploy/tls/mash-ca.sh show FILE.pem                         subject, names, validity and the issuing CA
#
# Defaults: the CA lasts 3650 days, server and client certificates 397. Issuing a certificate that exists
# already is refused (delete it first, or rotate by issuing under a new name); the CA is never overwritten.
# MASH_CA_QUIET=1 keeps it silent (scripts/broker.sh uses it for the development node).
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
fail() { echo "mash-ca.sh: $*" >&2; exit 1; }
say() { [ "${MASH_CA_QUIET:-}" = 1 ] || echo "mash-ca.sh: $*"; }

command -v openssl >/dev/null || fail "openssl is missing (apt-get install -y openssl)"

verb=${1:-}
[ -n "$verb" ] || usage
shift

days=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --days) [ $# -ge 2 ] || fail "--days needs a number"; days=$2; shift 2 ;;
        --days=*) days=${1#--days=}; shift ;;
        -h|--help) usage ;;
        *) args+=("$1"); shift ;;
    esac
done
case "$days" in ""|*[!0-9]*) [ -z "$days" ] || fail "--days must be a whole number of days, not '$days'" ;; esac

# A name that becomes a file name and a certificate subject: no slashes, no spaces, no shell surprises.
check_name() {
    case "$1" in
        ""|*[!A-Za-z0-9._-]*|.*) fail "'$1' is not a usable $2 name (letters, digits, '.', '_' and '-')" ;;
    esac
}

need_ca() {
    [ -f "$1/ca.pem" ] && [ -f "$1/ca.key" ] || fail "no CA in $1 (run: deploy/tls/mash-ca.sh init $1)"
}

# Signs DIR/KIND/NAME.csr with the CA and the given extensions; removes the request afterwards.
sign() {
    local dir=$1 out=$2 extensions=$3 lifetime=$4
    printf '%s\n' "$extensions" >"$out.ext"
    openssl x509 -req -in "$out.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
        -CAserial "$dir/ca.srl" -days "$lifetime" -sha256 -extfile "$out.ext" -out "$out.pem" 2>/dev/null
    rm -f "$out.csr" "$out.ext"
    chmod 644 "$out.pem"
}

new_key_and_request() {
    local out=$1 subject=$2
    (umask 077 && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
        -keyout "$out.key" -out "$out.csr" 2>/dev/null)
    chmod 600 "$out.key"
}

init() {
    [ ${#args[@]} -eq 1 ] || fail "usage: mash-ca.sh init DIR [--days N]"
    local dir=${args[0]}
    if [ -f "$dir/ca.pem" ]; then say "the CA in $dir exists already; left as it is"; return 0; fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days "${days:-3650}" -sha256 -subj "/CN=MASH Gateway broker CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null)
    chmod 600 "$dir/ca.key"
    chmod 644 "$dir/ca.pem"
    say "CA made: $dir/ca.pem (give to every party) and $dir/ca.key (keep offline, mode 0600)"
}

server() {
    [ ${#args[@]} -ge 3 ] || fail "usage: mash-ca.sh server DIR NAME HOST... [--days N]"
    local dir=${args[0]} name=${args[1]} hosts=("${args[@]:2}") alt="" h out
    need_ca "$dir"
    check_name "$name" server
    for h in "${hosts[@]}"; do
        case "$h" in
            *[!A-Za-z0-9.:-]*|"") fail "'$h' is not a host name or IP address" ;;
        esac
        if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then alt+="IP:$h,"; else alt+="DNS:$h,"; fi
    done
    mkdir -p "$dir/servers"
    out=$dir/servers/$name
    [ ! -f "$out.pem" ] || fail "$out.pem exists already (delete it to issue it again)"
    new_key_and_request "$out" "/CN=${hosts[0]}"
    sign "$dir" "$out" "subjectAltName=${alt%,}
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE" "${days:-397}"
    say "server certificate for ${hosts[*]}: $out.pem and $out.key"
}

client() {
    [ ${#args[@]} -eq 2 ] || fail "usage: mash-ca.sh client DIR USER [--days N]"
    local dir=${args[0]} user=${args[1]} out
    need_ca "$dir"
    check_name "$user" "broker user"
    mkdir -p "$dir/clients"
    out=$dir/clients/$user
    [ ! -f "$out.pem" ] || fail "$out.pem exists already (delete it to issue it again)"
    new_key_and_request "$out" "/CN=$user"
    sign "$dir" "$out" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature
basicConstraints=critical,CA:FALSE" "${days:-397}"
    say "client certificate for broker user $user: $out.pem and $out.key (send both to $user only)"
}

show() {
    [ ${#args[@]} -eq 1 ] || fail "usage: mash-ca.sh show FILE.pem"
    [ -f "${args[0]}" ] || fail "${args[0]}: no such file"
    openssl x509 -in "${args[0]}" -noout -subject -issuer -startdate -enddate -ext subjectAltName,extendedKeyUsage 2>/dev/null \
        || fail "${args[0]} is not a PEM certificate"
}

case "$verb" in
    init) init ;;
    server) server ;;
    client) client ;;
    show) show ;;
    *) usage ;;
esac
