"""Throw-away mutual-TLS certificates made with `cryptography`, for the tests and the
control bench: a CA, a server cert for localhost and client certs with arbitrary subject
attributes (forged-looking CNs, two OUs, none).

EC P-256 keys: generated in milliseconds, so every test can make its own PKI.
"""
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(attrs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


class Pki:
    def __init__(self, directory):
        self.dir = directory
        self.ca_key = _key()
        now = datetime.datetime.now(datetime.timezone.utc)
        self.window = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1))
        name = _name([(NameOID.COMMON_NAME, "tickwire-test-ca")])
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(self.window[0]).not_valid_after(self.window[1])
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        (directory / "ca.pem").write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self.issue("server", [(NameOID.COMMON_NAME, "localhost")], server=True)

    def issue(self, stem, attrs, server=False):
        """Write STEM.pem / STEM.key signed by the CA; attrs: [(oid, value), ...]."""
        key = _key()
        b = (x509.CertificateBuilder().subject_name(_name(attrs)).issuer_name(self.ca.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(self.window[0]).not_valid_after(self.window[1]))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        cert = b.sign(self.ca_key, hashes.SHA256())
        (self.dir / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (self.dir / f"{stem}.key").write_bytes(_pem_key(key))
        return cert.public_bytes(serialization.Encoding.PEM)

    def client(self, stem, cn, *ous):
        return self.issue(stem, [(NameOID.COMMON_NAME, cn)] +
                          [(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in ous])

    def files(self, stem):
        return [str(self.dir / f) for f in ("ca.pem", f"{stem}.key", f"{stem}.pem")]
