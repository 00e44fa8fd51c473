"""The platform's signing key (Ed25519, `cryptography`): generated on first use under the home.

`$TRANQUILLITE_HOME/keys/platform_ed25519.pem` (PKCS#8, mode 0600, folder 0700) and its public
half `platform_ed25519.pub.pem`, which the City can hand to the Préfecture so that it checks an
attestation's signature itself. Salts of the verification scans live in `keys/scans/` (0600).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE = "platform_ed25519.pem"
PUBLIC = "platform_ed25519.pub.pem"


def keys_dir(home: Path) -> Path:
    d = Path(home) / "keys"
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o700)
    return d


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def private_key(home: Path) -> Ed25519PrivateKey:
    """The platform key, created (0600) the first time it is needed."""
    d = keys_dir(home)
    path = d / PRIVATE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(
            path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        (d / PUBLIC).write_bytes(public_pem(key.public_key()).encode())
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_pem(pub: Ed25519PublicKey) -> str:
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key(home: Path) -> Ed25519PublicKey:
    return private_key(home).public_key()


def key_id(pub: Ed25519PublicKey) -> str:
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(home: Path, data: bytes) -> str:
    return base64.b64encode(private_key(home).sign(data)).decode()


def verify(pub_pem: str, signature_b64: str, data: bytes) -> bool:
    pub = serialization.load_pem_public_key(pub_pem.encode())
    try:
        pub.verify(base64.b64decode(signature_b64), data)
        return True
    except (InvalidSignature, ValueError):
        return False


def new_salt(home: Path, name: str) -> bytes:
    """A random salt for one verification scan, kept under keys/scans/<name>.salt (0600)."""
    d = keys_dir(home) / "scans"
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o700)
    salt = secrets.token_bytes(32)
    _write_private(d / f"{name}.salt", salt)
    return salt


def load_salt(home: Path, name: str) -> bytes:
    return (Path(home) / "keys" / "scans" / f"{name}.salt").read_bytes()
