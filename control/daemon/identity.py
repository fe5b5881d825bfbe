"""Who a TLS client is, from the fields of its verified certificate, never from text.

Why: the subject as a string ("/CN=frank,OU=admin/OU=viewer") cannot be split safely:
a CN may itself contain ",OU=admin" or "/OU=admin", and a subject may carry the OU twice.
The certificate gRPC has verified against the CA is parsed with `cryptography` and its
OU and CN *attributes* are read. Exactly one CN and exactly one OU naming a role are
required; anything else (no OU, two OUs, an unknown role) gets no role at all.
"""
from cryptography import x509
from cryptography.x509.oid import NameOID

ROLES = ("viewer", "operator", "admin")


def identity_from_pem(pem):
    """(who, role, why): who is 'cert:<CN>'; role '' with `why` when refused."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return "cert:?", "", "peer certificate unreadable"
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    ous = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    who = f"cert:{cns[0][:64]}" if len(cns) == 1 else "cert:?"
    if len(cns) != 1:
        return who, "", f"{len(cns)} CN attributes (exactly one required)"
    if len(ous) != 1:
        return who, "", f"{len(ous)} OU attributes (exactly one role required)"
    if ous[0] not in ROLES:
        return who, "", f"OU {ous[0][:32]!r} is not a role"
    return who, ous[0], ""


def tls_identity(context):
    """(who, role) of a gRPC call over mutual TLS, from the verified peer certificate."""
    pems = context.auth_context().get("x509_pem_cert") or []
    if len(pems) != 1:
        return "cert:?", ""
    who, role, _why = identity_from_pem(pems[0])
    return who, role
