//! vmq_passwd's password file in mosquitto_passwd's format: `user:$6$<salt>$<sha512>` and
//! `user:$7$<iterations>$<salt>$<pbkdf2-sha512>` lines, checked in constant time.

use std::collections::HashMap;

use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;

use super::SkippedLine;

/// Standard base64; padding optional (mosquitto writes it, hand-made files may not).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The length of every digest mosquitto_passwd writes.
const DIGEST_LEN: usize = 64;

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
enum Hash {
    /// `$6$`: SHA-512 of the password followed by the salt (mosquitto's own scheme, not crypt(3)).
    Sha512 { salt: Vec<u8>, digest: Vec<u8> },
    /// `$7$`: PBKDF2-HMAC-SHA512 with a 64-byte output.
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        digest: Vec<u8>,
    },
}

impl Hash {
    fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('$').collect();
        match parts.as_slice() {
            ["", "6", salt, digest] => Ok(Hash::Sha512 {
                salt: decode(salt, "salt")?,
                digest: decode_digest(digest)?,
            }),
            ["", "7", iterations, salt, digest] => {
                let iterations = iterations
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("bad iteration count '{iterations}'"))?;
                Ok(Hash::Pbkdf2 {
                    iterations,
                    salt: decode(salt, "salt")?,
                    digest: decode_digest(digest)?,
                })
            }
            ["", kind, ..] if !kind.is_empty() => Err(format!(
                "unsupported hash type ${kind}$ (use mosquitto_passwd: $6$ or $7$)"
            )),
            _ => Err("not a password hash (plain-text passwords are not accepted)".to_owned()),
        }
    }

    /// Hashes `password` the same way and compares the digests in constant time.
    fn verify(&self, password: &[u8]) -> bool {
        let mut computed = [0u8; DIGEST_LEN];
        let stored = match self {
            Hash::Sha512 { salt, digest } => {
                let mut hasher = Sha512::new();
                hasher.update(password);
                hasher.update(salt);
                computed.copy_from_slice(&hasher.finalize());
                digest
            }
            Hash::Pbkdf2 {
                iterations,
                salt,
                digest,
            } => {
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut computed);
                digest
            }
        };
        computed.as_slice().ct_eq(stored.as_slice()).into()
    }
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    match BASE64.decode(text) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(format!("the {what} is not base64")),
    }
}

fn decode_digest(text: &str) -> Result<Vec<u8>, String> {
    let digest = decode(text, "hash")?;
    if digest.len() == DIGEST_LEN {
        Ok(digest)
    } else {
        Err(format!(
            "the hash has {} bytes, not {DIGEST_LEN}",
            digest.len()
        ))
    }
}

/// What the file says about a user name and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordCheck {
    /// The user is in the file and the password matches.
    Valid,
    /// The user is in the file; the password does not match.
    Wrong,
    /// The user is not in the file.
    UnknownUser,
}

/// The users of one password file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Passwords {
    users: HashMap<String, Hash>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Passwords({} users)", self.users.len())
    }
}

impl Passwords {
    /// Reads a password file's text. Blank lines and `#` comments are skipped; so is every
    /// malformed line, which is reported with its number. A user listed twice keeps the last line.
    pub fn parse(text: &str) -> (Self, Vec<SkippedLine>) {
        let mut users = HashMap::new();
        let mut skipped = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parsed = match line.split_once(':') {
                Some(("", _)) => Err("the user name is empty".to_owned()),
                Some((user, hash)) => Hash::parse(hash).map(|hash| (user, hash)),
                None => Err("expected user:hash".to_owned()),
            };
            match parsed {
                Ok((user, hash)) => {
                    users.insert(user.to_owned(), hash);
                }
                Err(reason) => skipped.push(SkippedLine {
                    line: index + 1,
                    reason,
                }),
            }
        }
        (Self { users }, skipped)
    }

    /// How many users the file has.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks `password` for `user`. An unknown user costs a hash too, so that timing does not
    /// tell which user names exist.
    pub(crate) fn check(&self, user: &str, password: &[u8]) -> PasswordCheck {
        match self.users.get(user) {
            Some(hash) if hash.verify(password) => PasswordCheck::Valid,
            Some(_) => PasswordCheck::Wrong,
            None => {
                let decoy = Hash::Pbkdf2 {
                    iterations: 101,
                    salt: vec![0; 12],
                    digest: vec![0; DIGEST_LEN],
                };
                let _ = decoy.verify(password);
                PasswordCheck::UnknownUser
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Debian's `mosquitto_passwd` 2.0.11: alice and bob with the default `$7$`
    /// (`-c -b`), carol and dave with `-H sha512` (`$6$`).
    const FIXTURE: &str = include_str!("testdata/passwd");

    fn fixture() -> Passwords {
        let (passwords, skipped) = Passwords::parse(FIXTURE);
        assert!(skipped.is_empty(), "{skipped:?}");
        passwords
    }

    #[test]
    fn pbkdf2_hashes_from_mosquitto_passwd() {
        let passwords = fixture();
        assert_eq!(passwords.len(), 4);
        assert_eq!(
            passwords.check("alice", b"alice-secret"),
            PasswordCheck::Valid
        );
        assert_eq!(passwords.check("bob", b"hunter2"), PasswordCheck::Valid);
        assert_eq!(passwords.check("alice", b"hunter2"), PasswordCheck::Wrong);
        assert_eq!(passwords.check("bob", b""), PasswordCheck::Wrong);
        assert_eq!(passwords.check("bob", b"hunter2 "), PasswordCheck::Wrong);
    }

    #[test]
    fn sha512_hashes_from_mosquitto_passwd() {
        let passwords = fixture();
        assert_eq!(
            passwords.check("carol", b"carol pass"),
            PasswordCheck::Valid
        );
        assert_eq!(
            passwords.check("dave", "ünïcode:colon".as_bytes()),
            PasswordCheck::Valid
        );
        assert_eq!(passwords.check("carol", b"carol"), PasswordCheck::Wrong);
        assert_eq!(
            passwords.check("dave", b"unicode:colon"),
            PasswordCheck::Wrong
        );
    }

    #[test]
    fn unknown_users_and_case() {
        let passwords = fixture();
        assert_eq!(
            passwords.check("mallory", b"alice-secret"),
            PasswordCheck::UnknownUser
        );
        assert_eq!(
            passwords.check("Alice", b"alice-secret"),
            PasswordCheck::UnknownUser
        );
        assert_eq!(passwords.check("", b""), PasswordCheck::UnknownUser);
    }

    #[test]
    fn malformed_lines_are_skipped_and_numbered() {
        let alice = FIXTURE.lines().next().expect("a line");
        let carol = FIXTURE.lines().nth(2).expect("a line");
        let text = format!(
            "# users\n\n{alice}\r\nplain:secret\nnocolon\n:$6$c2FsdA==$x\n\
             eve:$5$abc$def\nfrank:$7$0$c2FsdA==$AAAA\ngina:$6$!!$AAAA\n\
             hugo:$6$c2FsdA==$c2hvcnQ=\n   \n{carol}\n"
        );
        let (passwords, skipped) = Passwords::parse(&text);
        assert_eq!(passwords.len(), 2);
        assert_eq!(
            passwords.check("alice", b"alice-secret"),
            PasswordCheck::Valid
        );
        let lines: Vec<usize> = skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8, 9, 10]);
        assert!(skipped[0].reason.contains("plain-text"), "{skipped:?}");
        assert!(skipped[3].reason.contains("$5$"), "{skipped:?}");
        assert!(skipped[4].reason.contains("iteration"), "{skipped:?}");
        assert!(skipped[6].reason.contains("bytes"), "{skipped:?}");
    }

    #[test]
    fn the_last_line_for_a_user_wins_and_debug_hides_hashes() {
        let mut lines = FIXTURE.lines();
        let alice = lines.next().expect("a line");
        let bob_hash = lines.next().and_then(|l| l.split_once(':')).expect("bob").1;
        let (passwords, _) = Passwords::parse(&format!("{alice}\nalice:{bob_hash}\n"));
        assert_eq!(passwords.check("alice", b"hunter2"), PasswordCheck::Valid);
        assert_eq!(format!("{passwords:?}"), "Passwords(1 users)");
    }
}
