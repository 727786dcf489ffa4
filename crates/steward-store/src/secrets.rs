//! Encryption of secrets at rest: XChaCha20-Poly1305 with a random 24-byte nonce stored in
//! front of the ciphertext, and the secret's name as associated data (a ciphertext copied to
//! another name does not decrypt).

use std::fmt;

use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretBox, SecretString};

use crate::error::{Error, Result};

const NONCE_LEN: usize = 24;

/// The 32-byte key that encrypts stored secrets. It is provided by the caller (a file or an
/// environment variable) and never stored in the database. Zeroized on drop; `Debug` is redacted.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// Wraps exactly 32 bytes of key material.
    ///
    /// # Errors
    /// [`Error::InvalidMasterKey`] if `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidMasterKey(bytes.len()))?;
        Ok(Self(SecretBox::new(Box::new(key))))
    }

    /// A fresh random key (for `steward init` and tests).
    pub fn generate() -> Self {
        let key = chacha20poly1305::Key::generate();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key.as_slice());
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The raw key bytes, e.g. to write them to a key file once.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    fn cipher(&self) -> Result<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(self.0.expose_secret())
            .map_err(|_| Error::InvalidMasterKey(self.0.expose_secret().len()))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// Encrypts `value` for storage under `name`: nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal(key: &MasterKey, name: &str, value: &SecretString) -> Result<Vec<u8>> {
    let cipher = key.cipher()?;
    let nonce = XNonce::generate();
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: value.expose_secret().as_bytes(),
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| Error::Encrypt {
            name: name.to_owned(),
        })?;
    let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    blob.extend_from_slice(nonce.as_slice());
    blob.extend_from_slice(&ciphertext);
    Ok(blob)
}

/// Decrypts a blob made by [`seal`] for the same `name`.
pub(crate) fn open(key: &MasterKey, name: &str, blob: &[u8]) -> Result<SecretString> {
    let fail = || Error::Decrypt {
        name: name.to_owned(),
    };
    if blob.len() < NONCE_LEN {
        return Err(fail());
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| fail())?;
    let plaintext = key
        .cipher()?
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| fail())?;
    let text = String::from_utf8(plaintext).map_err(|_| fail())?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let key = MasterKey::generate();
        let blob = seal(&key, "org_api_key", &SecretString::from("s3cret")).unwrap();
        assert_eq!(
            open(&key, "org_api_key", &blob).unwrap().expose_secret(),
            "s3cret"
        );
    }

    #[test]
    fn ciphertext_moved_to_another_name_does_not_open() {
        let key = MasterKey::generate();
        let blob = seal(&key, "a", &SecretString::from("s3cret")).unwrap();
        assert!(matches!(open(&key, "b", &blob), Err(Error::Decrypt { .. })));
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(matches!(
            MasterKey::from_bytes(&[0; 31]),
            Err(Error::InvalidMasterKey(31))
        ));
        assert_eq!(
            format!("{:?}", MasterKey::generate()),
            "MasterKey([REDACTED])"
        );
    }
}
