//! Passwords: argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's recommendation), a
//! policy checked before hashing, and a dummy verification so that an unknown email costs the
//! same time as a wrong password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The shortest password accepted.
pub const MIN_LEN: usize = 10;
/// The longest (argon2 takes any length; this bounds the work a request can ask for).
pub const MAX_LEN: usize = 256;

/// Passwords so common that the policy refuses them outright (a short list; the class rule
/// catches most of the rest).
const COMMON: &[&str] = &[
    "password123",
    "password1234",
    "qwertyuiop1",
    "1234567890a",
    "iloveyou123",
    "letmein1234",
    "welcome1234",
    "administrator1",
    "changeme123",
    "passw0rd123",
];

/// Why a password is refused (the message is shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("the password must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("the password must mix at least two of: lower case, upper case, digits, symbols")]
    OneClass,
    #[error("the password must not contain the email address")]
    ContainsEmail,
    #[error("the password is too common")]
    Common,
}

/// Checks the policy: at least 10 characters, not all of one class, not the email, not common.
pub fn check_policy(password: &str, email: &str) -> Result<(), PolicyError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PolicyError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PolicyError::TooLong);
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 2 {
        return Err(PolicyError::OneClass);
    }
    let lower = password.to_lowercase();
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower.contains(&email) || (local.len() >= 4 && lower.contains(local)) {
        return Err(PolicyError::ContainsEmail);
    }
    if COMMON.contains(&lower.as_str()) {
        return Err(PolicyError::Common);
    }
    Ok(())
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). CPU-heavy: call it off the
/// async runtime (`spawn_blocking`).
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Whether `password` matches `phc`; a malformed hash never matches. CPU-heavy, as [`hash`].
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when there is no user, so an unknown email takes as long as a
/// wrong password.
pub fn dummy_hash() -> String {
    hash("not-a-real-password-0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse 42");
        let b = hash("correct horse 42");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse 42", &a));
        assert!(!verify("correct horse 43", &a));
        assert!(!verify("correct horse 42", "not a hash"));
    }

    #[test]
    fn the_policy_refuses_short_one_class_email_and_common_passwords() {
        let email = "ada.lovelace@example.com";
        assert_eq!(check_policy("Short1!", email), Err(PolicyError::TooShort));
        assert_eq!(
            check_policy("alllowercaseletters", email),
            Err(PolicyError::OneClass)
        );
        assert_eq!(
            check_policy("12345678901234", email),
            Err(PolicyError::OneClass)
        );
        assert_eq!(
            check_policy("Ada.Lovelace@example.com1", email),
            Err(PolicyError::ContainsEmail)
        );
        assert_eq!(
            check_policy("xx-ada.lovelace-99", email),
            Err(PolicyError::ContainsEmail)
        );
        assert_eq!(check_policy("Password123", email), Err(PolicyError::Common));
        assert_eq!(
            check_policy(&"aA1".repeat(100), email),
            Err(PolicyError::TooLong)
        );
        assert_eq!(check_policy("Analytical Engine 1843", email), Ok(()));
    }
}
