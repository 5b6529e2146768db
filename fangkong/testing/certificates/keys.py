"""The certificate signing keys: where they live, which one signs, which ones are published, and rotation.

A key directory (`CERTIFICATE_KEYS_DIR`, env `FANGKONG_CERTIFICATE_KEYS_DIR`, default `var/certificate-keys/`,
which git ignores) holds, per key, `<kid>.pub.pem` (published) and, while the key may sign, `<kid>.key.pem`
(PKCS#8, mode 0600). The file `active` names the kid that signs; without it the newest private key signs.
A deployment that keeps secrets in the environment sets `FANGKONG_CERTIFICATE_PRIVATE_KEY` to the PEM text
instead: that key signs and is published, besides any public keys in the directory.

Rotation without breaking checkpoints that cache the key set: `generate` a key (published at once, not yet
signing), let devices refresh, `activate` it, then `retire` the old one (its private key is deleted; its public
key stays published so certificates it signed verify until they expire), and finally `remove` it. The command
is `fangkong certificate-keys`.

When no key exists and `CERTIFICATE_AUTOGENERATE_KEY` is on (the default, except with `FANGKONG_HTTPS=1`), the
first certificate generates one: development and tests need no setup, and a key is never committed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from fangkong.core.errors import DomainError, ErrorCode
from fangkong.testing.certificates.codec import FORMAT, kid_for, public_jwk

PRIVATE_SUFFIX = ".key.pem"
PUBLIC_SUFFIX = ".pub.pem"
ACTIVE_FILE = "active"


class CertificateKeyError(DomainError):
    default_code = ErrorCode.INVALID


class NoSigningKeyError(DomainError):
    status_code = 503
    default_code = ErrorCode.CONFLICT


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    created_at: datetime
    can_sign: bool
    is_active: bool
    source: str  # "directory" or "environment"


@dataclass(frozen=True)
class KeyRing:
    signing_key: Ed25519PrivateKey | None
    signing_kid: str
    public_keys: dict[str, Ed25519PublicKey]


def keys_dir() -> Path:
    return Path(getattr(settings, "CERTIFICATE_KEYS_DIR", Path(settings.VAR_DIR) / "certificate-keys"))


def issuer() -> str:
    return str(getattr(settings, "CERTIFICATE_ISSUER", "") or "Fangkong")


def _env_key() -> Ed25519PrivateKey | None:
    pem = getattr(settings, "CERTIFICATE_PRIVATE_KEY", "")
    if not pem:
        return None
    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CertificateKeyError(_("FANGKONG_CERTIFICATE_PRIVATE_KEY is not an Ed25519 private key."))
    return key


def _read_private(path: Path) -> Ed25519PrivateKey | None:
    key = load_pem_private_key(path.read_bytes(), password=None)
    return key if isinstance(key, Ed25519PrivateKey) else None


def _read_public(path: Path) -> Ed25519PublicKey | None:
    key = load_pem_public_key(path.read_bytes())
    return key if isinstance(key, Ed25519PublicKey) else None


def _private_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{PRIVATE_SUFFIX}"), key=lambda p: (p.stat().st_mtime, p.name))


def _active_kid(directory: Path) -> str:
    path = directory / ACTIVE_FILE
    return path.read_text().strip() if path.exists() else ""


def load_key_ring(*, generate_if_missing: bool = False) -> KeyRing:
    """The keys as configured now (read from disk each call: rotation needs no restart)."""
    directory = keys_dir()
    public: dict[str, Ed25519PublicKey] = {}
    if directory.is_dir():
        for path in sorted(directory.glob(f"*{PUBLIC_SUFFIX}")):
            key = _read_public(path)
            if key is not None:
                public[kid_for(key)] = key
    env_key = _env_key()
    if env_key is not None:
        kid = kid_for(env_key.public_key())
        public[kid] = env_key.public_key()
        return KeyRing(signing_key=env_key, signing_kid=kid, public_keys=public)
    privates: dict[str, Ed25519PrivateKey] = {}
    if directory.is_dir():
        for path in _private_files(directory):
            private = _read_private(path)
            if private is not None:
                privates[kid_for(private.public_key())] = private
    if not privates and generate_if_missing and autogenerate_allowed():
        kid = _generate_first_key(directory)
        return load_key_ring() if kid else KeyRing(None, "", public)
    active = _active_kid(directory)
    if active not in privates:
        active = next(reversed(privates), "") if privates else ""
    for kid, private in privates.items():
        public.setdefault(kid, private.public_key())
    return KeyRing(signing_key=privates.get(active), signing_kid=active, public_keys=public)


def autogenerate_allowed() -> bool:
    return bool(getattr(settings, "CERTIFICATE_AUTOGENERATE_KEY", True))


def signing_key() -> tuple[str, Ed25519PrivateKey]:
    ring = load_key_ring(generate_if_missing=True)
    if ring.signing_key is None:
        raise NoSigningKeyError(
            _("No certificate signing key is configured. Run 'fangkong certificate-keys generate --activate'.")
        )
    return ring.signing_kid, ring.signing_key


def public_keys() -> dict[str, Ed25519PublicKey]:
    return load_key_ring(generate_if_missing=True).public_keys


def published_key_set() -> dict[str, Any]:
    """The public key set in JWKS form, with what a verifier needs to know about the format."""
    ring = load_key_ring(generate_if_missing=True)
    return {
        "issuer": issuer(),
        "format": FORMAT,
        "keys": [
            {**public_jwk(key), "kid": kid, "use": "sig", "alg": "EdDSA"}
            for kid, key in sorted(ring.public_keys.items())
        ],
    }


def _write_atomically(path: Path, data: bytes, *, mode: int) -> bool:
    """Write `data` to `path` unless it exists (then False): written to a temporary file, then linked."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        os.fchmod(handle, mode)
        os.write(handle, data)
        os.fsync(handle)
        os.close(handle)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(temporary).unlink(missing_ok=True)


def _store(directory: Path, key: Ed25519PrivateKey) -> str:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = kid_for(key.public_key())
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    _write_atomically(directory / f"{kid}{PUBLIC_SUFFIX}", public_pem, mode=0o644)
    _write_atomically(directory / f"{kid}{PRIVATE_SUFFIX}", private_pem, mode=0o600)
    return kid


def _generate_first_key(directory: Path) -> str:
    """The first key of an empty directory; two processes racing here agree on one (the `active` file)."""
    kid = _store(directory, Ed25519PrivateKey.generate())
    if not _write_atomically(directory / ACTIVE_FILE, kid.encode(), mode=0o644):
        winner = _active_kid(directory)
        if winner != kid:  # another process got there first: drop ours, it never signed anything
            (directory / f"{kid}{PRIVATE_SUFFIX}").unlink(missing_ok=True)
            (directory / f"{kid}{PUBLIC_SUFFIX}").unlink(missing_ok=True)
        return winner
    return kid


def generate_key(*, activate: bool = False) -> str:
    directory = keys_dir()
    kid = _store(directory, Ed25519PrivateKey.generate())
    if activate or not _active_kid(directory):
        activate_key(kid)
    return kid


def _require_known(directory: Path, kid: str, suffix: str) -> Path:
    path = directory / f"{kid}{suffix}"
    if "/" in kid or not path.exists():
        raise CertificateKeyError(_("No such key: %(kid)s") % {"kid": kid}, field="kid")
    return path


def activate_key(kid: str) -> None:
    directory = keys_dir()
    _require_known(directory, kid, PRIVATE_SUFFIX)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(handle, "w") as out:
        out.write(kid)
    os.replace(temporary, directory / ACTIVE_FILE)


def retire_key(kid: str) -> None:
    """Stop signing with `kid` (its private key is deleted); it stays published for what it already signed."""
    directory = keys_dir()
    path = _require_known(directory, kid, PRIVATE_SUFFIX)
    if _active_kid(directory) == kid:
        raise CertificateKeyError(_("Activate another key before retiring the active one."), field="kid")
    path.unlink()


def remove_key(kid: str) -> None:
    """Stop publishing `kid`: certificates it signed no longer verify."""
    directory = keys_dir()
    path = _require_known(directory, kid, PUBLIC_SUFFIX)
    if (directory / f"{kid}{PRIVATE_SUFFIX}").exists():
        raise CertificateKeyError(_("Retire the key before removing it."), field="kid")
    path.unlink()


def list_keys() -> list[KeyInfo]:
    directory = keys_dir()
    ring = load_key_ring()
    env_key = _env_key()
    env_kid = kid_for(env_key.public_key()) if env_key is not None else ""
    infos = []
    for kid in sorted(ring.public_keys):
        public = directory / f"{kid}{PUBLIC_SUFFIX}"
        created = datetime.fromtimestamp(public.stat().st_mtime, tz=UTC) if public.exists() else datetime.now(tz=UTC)
        infos.append(
            KeyInfo(
                kid=kid,
                created_at=created,
                can_sign=kid == env_kid or (directory / f"{kid}{PRIVATE_SUFFIX}").exists(),
                is_active=kid == ring.signing_kid,
                source="environment" if kid == env_kid else "directory",
            )
        )
    return infos
