//! One way to give a process a secret: `{VAR}` holds the value itself, or `{VAR}_SECRET_ID` (`JWT_SECRET_ID` for
//! `JWT_SECRET`) names an AWS Secrets Manager secret holding it (a name or an ARN), read once at start-up through a
//! [`SecretSource`]. A variable may
//! also have older names for its secret id, read after the current one (`OPENAI_API_KEY_SECRET` for
//! `OPENAI_API_KEY_SECRET_ID`), so existing deployments keep working.

use std::fmt::Display;
use std::future::Future;

use crate::{ConfigError, Secret};

/// Where secrets are stored (AWS Secrets Manager in AWS). This crate depends on no cloud SDK: `bw-aws` implements
/// it.
pub trait SecretSource: Sync {
    /// Why a secret could not be read. It is shown in the configuration error, so it must not contain the secret.
    type Error: Display;

    /// The secret string stored under `id`.
    fn get(&self, id: &str) -> impl Future<Output = Result<String, Self::Error>> + Send;
}

/// A [`SecretSource`] with no secrets, for processes that are only ever given values.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecretSource;

impl SecretSource for NoSecretSource {
    type Error = &'static str;

    async fn get(&self, _id: &str) -> Result<String, Self::Error> {
        Err("this process has no secret store; give the value itself")
    }
}

/// A secret's variables: its value in `var`, or the id of a stored secret in `id_var` (or an older name).
#[derive(Clone, Copy, Debug)]
pub struct SecretVar {
    pub var: &'static str,
    /// The variable naming a stored secret: `{var}_SECRET_ID`, or `{var}_ID` when `var` already ends in `_SECRET`
    /// (`JWT_SECRET_ID`). Spelt out so the variables' names can be found in the code.
    pub id_var: &'static str,
    /// What `var` is, for the error when nothing is set.
    pub hint: &'static str,
    /// Older names of the secret id's variable, still read, after the current one.
    pub old_id_vars: &'static [&'static str],
}

/// Where a secret was found.
#[derive(Debug)]
pub enum Found {
    /// The value itself, from the variable.
    Value(Secret),
    /// A stored secret's string, and the variable that named it (for errors about its content).
    Stored { id_var: String, id: String, value: Secret },
}

impl Found {
    /// The secret, wherever it came from.
    pub fn secret(&self) -> &Secret {
        match self {
            Self::Value(value) | Self::Stored { value, .. } => value,
        }
    }
}

impl SecretVar {
    /// Reads the secret from the environment.
    pub async fn read(&self, secrets: &impl SecretSource) -> Result<Found, ConfigError> {
        self.read_with(&crate::optional, secrets).await
    }

    /// Reads the secret, the variables coming through `lookup` (`None` for unset), so tests need not touch the
    /// process environment. The value wins over a secret id; an empty secret is an error naming the variable.
    pub async fn read_with(
        &self,
        lookup: &(dyn Fn(&str) -> Option<String> + Sync),
        secrets: &impl SecretSource,
    ) -> Result<Found, ConfigError> {
        let set = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if let Some(value) = set(self.var) {
            return Ok(Found::Value(Secret::new(value)));
        }
        let id_var = self.id_var;
        let named = std::iter::once(id_var)
            .chain(self.old_id_vars.iter().copied())
            .find_map(|name| set(name).map(|id| (name.to_owned(), id)));
        let Some((id_var, id)) = named else {
            return Err(ConfigError::Missing {
                name: self.var.to_owned(),
                hint: format!("{}; or set {id_var} to the Secrets Manager secret holding it", self.hint),
            });
        };
        let invalid = |reason: String| ConfigError::Invalid { name: id_var.clone(), reason };
        let value = secrets.get(&id).await.map_err(|e| invalid(format!("secret {id:?} could not be read: {e}")))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(format!("secret {id:?} is empty")));
        }
        Ok(Found::Stored { value: Secret::new(value), id_var: id_var.clone(), id })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const KEY: SecretVar =
        SecretVar { var: "KEY", id_var: "KEY_SECRET_ID", hint: "the key", old_id_vars: &["KEY_SECRET"] };

    struct Store(HashMap<&'static str, &'static str>);

    impl SecretSource for Store {
        type Error = String;
        async fn get(&self, id: &str) -> Result<String, String> {
            self.0.get(id).map(|v| (*v).to_owned()).ok_or_else(|| format!("no secret named {id}"))
        }
    }

    async fn read(vars: &[(&str, &str)]) -> Result<String, String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let store = Store(HashMap::from([("new", " from-new "), ("old", "from-old"), ("blank", "  ")]));
        let found = KEY.read_with(&|name| vars.get(name).cloned(), &store).await.map_err(|e| e.to_string())?;
        let from = match &found {
            Found::Value(_) => "value".to_owned(),
            Found::Stored { id_var, id, .. } => format!("{id_var}={id}"),
        };
        Ok(format!("{} via {from}", found.secret().expose()))
    }

    #[tokio::test]
    async fn the_value_wins_then_the_current_id_then_the_old_one() {
        let both = [("KEY", "v"), ("KEY_SECRET_ID", "new"), ("KEY_SECRET", "old")];
        assert_eq!(read(&both).await, Ok("v via value".to_owned()));
        let ids = [("KEY", " "), ("KEY_SECRET_ID", "new"), ("KEY_SECRET", "old")];
        assert_eq!(read(&ids).await, Ok("from-new via KEY_SECRET_ID=new".to_owned()));
        assert_eq!(read(&[("KEY_SECRET", "old")]).await, Ok("from-old via KEY_SECRET=old".to_owned()));
    }

    #[tokio::test]
    async fn errors_name_the_variables() {
        let none = read(&[]).await.err().unwrap_or_default();
        assert!(none.contains("KEY is not set (the key; or set KEY_SECRET_ID"), "{none}");
        let missing = read(&[("KEY_SECRET", "gone")]).await.err().unwrap_or_default();
        assert!(missing.contains("KEY_SECRET has an invalid value") && missing.contains("no secret named gone"));
        let blank = read(&[("KEY_SECRET_ID", "blank")]).await.err().unwrap_or_default();
        assert!(blank.contains("KEY_SECRET_ID") && blank.contains("\"blank\" is empty"), "{blank}");
    }
}
