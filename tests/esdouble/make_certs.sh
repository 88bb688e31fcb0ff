#!/bin/sh
# make_certs.sh DIR — test certificates for esdouble TLS tests (openssl CLI only).
#
#   ca.pem / ca.key                  a self-signed test CA
#   server.pem / server.key          server cert signed by ca.pem,
#                                    subjectAltName IP:127.0.0.1, DNS:localhost
#   client.pem / client.key          client cert signed by ca.pem (mutual TLS tests)
#   other-ca.pem / other-ca.key      an unrelated CA ("wrong CA" tests)
#   other-server.pem / other-server.key  server cert for 127.0.0.1 signed by other-ca.pem
#   wronghost.pem / wronghost.key    signed by ca.pem but only for DNS:wrong.invalid
#
# EC P-256 keys (fast to generate), valid for 10 years, no passphrases.
set -eu
dir=${1:?usage: make_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

serial() { echo "0x$(openssl rand -hex 8)"; }

ca() { # name CN
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.pem" -days 3650 -subj "/O=skiff tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() { # name CA CN SAN EKU
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "/O=skiff tests/CN=$3" 2>/dev/null
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s' \
        "$5" "$4" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$(serial)" \
        -days 3650 -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "esdouble test CA"
ca other-ca "esdouble unrelated CA"
leaf server ca 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost" serverAuth
leaf client ca "skiff client" "" clientAuth
leaf other-server other-ca 127.0.0.1 "subjectAltName=IP:127.0.0.1,DNS:localhost" serverAuth
leaf wronghost ca wrong.invalid "subjectAltName=DNS:wrong.invalid" serverAuth
chmod 644 ./*.pem
