//! API tokens: HS256 JWTs naming a user (`sub`), with an expiry and an optional operator role. The API verifies them;
//! `ctl token` signs them. Only HS256 is accepted: a token with another algorithm (`none` included) is refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bw_config::{ConfigError, Secret, SecretSource, SecretVar};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Who issues the tokens; a token from another issuer is refused.
pub const ISSUER: &str = "boardwatch";
/// The shortest secret accepted (HS256 wants at least the hash's 32 bytes).
pub const MIN_SECRET_BYTES: usize = 32;
/// The JWT key: `JWT_SECRET` itself, or the Secrets Manager secret `JWT_SECRET_ID` names.
pub const JWT_SECRET: SecretVar = SecretVar {
    var: "JWT_SECRET",
    id_var: "JWT_SECRET_ID",
    hint: "the HS256 key that signs API tokens, at least 32 bytes",
    old_id_vars: &[],
};
/// Tolerated clock difference between the signer and the API when checking `exp`.
const LEEWAY_SECS: u64 = 30;

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id every query is scoped to.
    pub sub: String,
    pub iss: String,
    /// Seconds since the epoch.
    pub iat: u64,
    pub exp: u64,
    /// Operators may read queue depths, peek at dead-letter queues and redrive them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub operator: bool,
}

/// Why a token was refused; the text is what the client is told.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token has expired")]
    Expired,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token must be signed with HS256")]
    WrongAlgorithm,
    #[error("token was not issued by {ISSUER}")]
    WrongIssuer,
    #[error("token names no user")]
    NoUser,
    #[error("token is malformed")]
    Malformed,
}

/// Why keys could not be made or a token signed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the JWT secret must be at least {MIN_SECRET_BYTES} bytes, not {0}")]
    ShortSecret(usize),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("a token needs a user name")]
    NoUser,
    #[error("cannot sign a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    /// Keys from `secret`, refused when shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &Secret) -> Result<Self, KeyError> {
        let bytes = secret.expose().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(KeyError::ShortSecret(bytes.len()));
        }
        Ok(Self { encoding: EncodingKey::from_secret(bytes), decoding: DecodingKey::from_secret(bytes) })
    }

    /// Keys from [`JWT_SECRET`]: the variable itself, or the stored secret `JWT_SECRET_ID` names, read once here
    /// through `secrets`.
    pub async fn from_env(secrets: &impl SecretSource) -> Result<Self, KeyError> {
        let found = JWT_SECRET.read(secrets).await?;
        Self::new(found.secret())
    }

    /// A token for `user`, valid for `ttl`.
    pub fn sign(&self, user: &str, ttl: Duration, operator: bool) -> Result<String, KeyError> {
        let user = user.trim();
        if user.is_empty() {
            return Err(KeyError::NoUser);
        }
        let now = epoch_secs();
        let claims =
            Claims { sub: user.to_owned(), iss: ISSUER.to_owned(), iat: now, exp: now + ttl.as_secs(), operator };
        self.sign_claims(&claims)
    }

    /// A token carrying exactly `claims` (tests use it for expired ones).
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, KeyError> {
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)?)
    }

    /// The claims of a valid token: HS256, signed with this secret, from [`ISSUER`], not expired, naming a user.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
            ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
            _ => TokenError::Malformed,
        })?;
        if data.claims.sub.trim().is_empty() {
            return Err(TokenError::NoUser);
        }
        Ok(data.claims)
    }
}

fn epoch_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn keys(secret: &str) -> Keys {
        Keys::new(&Secret::new(secret)).unwrap_or_else(|e| panic!("{e}"))
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    struct Store;

    impl SecretSource for Store {
        type Error = String;
        async fn get(&self, id: &str) -> Result<String, String> {
            (id == "api-jwt").then(|| SECRET.to_owned()).ok_or_else(|| format!("no secret {id}"))
        }
    }

    /// `JWT_SECRET_ID`, the documented name, names the stored key (not `JWT_SECRET_SECRET_ID`).
    #[tokio::test]
    async fn the_key_is_read_from_the_secret_jwt_secret_id_names() {
        let lookup = |name: &str| (name == "JWT_SECRET_ID").then(|| "api-jwt".to_owned());
        let found = JWT_SECRET.read_with(&lookup, &Store).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.secret().expose(), SECRET);
        let none = JWT_SECRET.read_with(&|_: &str| None, &Store).await.err().map(|e| e.to_string());
        assert!(none.is_some_and(|e| e.contains("or set JWT_SECRET_ID")));
    }

    #[test]
    fn a_signed_token_verifies_to_its_user_and_role() {
        let keys = keys(SECRET);
        let token = keys.sign("alice", Duration::from_secs(60), true).unwrap_or_default();
        let claims = keys.verify(&token).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((claims.sub.as_str(), claims.operator, claims.exp - claims.iat), ("alice", true, 60));
    }

    #[test]
    fn expired_forged_foreign_and_unsigned_tokens_are_refused() {
        let keys = keys(SECRET);
        let now = epoch_secs();
        let expired = Claims { sub: "a".into(), iss: ISSUER.into(), iat: now - 7200, exp: now - 3600, operator: false };
        assert_eq!(keys.verify(&keys.sign_claims(&expired).unwrap_or_default()), Err(TokenError::Expired));

        let other = self::keys("another secret of at least 32 bytes!!");
        let forged = other.sign("alice", Duration::from_secs(60), false).unwrap_or_default();
        assert_eq!(keys.verify(&forged), Err(TokenError::BadSignature));

        let foreign = Claims { iss: "someone-else".into(), ..expired.clone() };
        let foreign = Claims { exp: now + 60, ..foreign };
        assert_eq!(keys.verify(&keys.sign_claims(&foreign).unwrap_or_default()), Err(TokenError::WrongIssuer));

        // `alg: none`: a header and claims with an empty signature.
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let claims = format!(r#"{{"sub":"alice","iss":"{ISSUER}","iat":{now},"exp":{}}}"#, now + 60);
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&claims));
        assert!(keys.verify(&none).is_err());
        assert_eq!(keys.verify("not a token"), Err(TokenError::Malformed));
    }

    #[test]
    fn a_short_secret_is_refused_with_its_length() {
        let error = Keys::new(&Secret::new("short")).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("at least 32 bytes, not 5"), "{error}");
    }
}
