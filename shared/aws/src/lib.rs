//! The AWS settings every client of the system is built from, and the secrets read from AWS Secrets Manager (or
//! LocalStack, through `AWS_ENDPOINT_URL`) by the services that are given a secret's id instead of its value
//! ([`bw_config::SecretVar`]).

use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use tokio::sync::OnceCell;

pub use aws_config::SdkConfig;

/// The AWS SDK configuration: region, credentials and `AWS_ENDPOINT_URL` from the environment, with explicit
/// timeouts. A long poll waits at most 20 s, so an attempt may take 25 s, and a call with its retries 60 s.
pub async fn aws_config() -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(25))
        .operation_timeout(Duration::from_secs(60))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts).load().await
}

/// Why a secret could not be read; it names the secret, never its content.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret {id:?} from Secrets Manager: {reason}")]
    Unreadable { id: String, reason: String },
    #[error("secret {id:?} holds no string")]
    NotAString { id: String },
}

/// Reads secrets from AWS Secrets Manager. The client is built when the first secret is read, so a process that is
/// given every value itself loads no AWS configuration.
#[derive(Clone, Debug, Default)]
pub struct AwsSecrets {
    client: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl AwsSecrets {
    /// A reader configured from the environment ([`aws_config`]) at its first read.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// A reader from a configuration already loaded.
    pub fn from_config(config: &SdkConfig) -> Self {
        Self { client: OnceCell::new_with(Some(aws_sdk_secretsmanager::Client::new(config))) }
    }

    /// The string value of the secret `id` (a name or an ARN).
    pub async fn get(&self, id: &str) -> Result<String, SecretError> {
        let client = self.client.get_or_init(async || aws_sdk_secretsmanager::Client::new(&aws_config().await)).await;
        let out =
            client.get_secret_value().secret_id(id).send().await.map_err(|e| SecretError::Unreadable {
                id: id.to_owned(),
                reason: DisplayErrorContext(&e).to_string(),
            })?;
        out.secret_string.ok_or_else(|| SecretError::NotAString { id: id.to_owned() })
    }
}

impl bw_config::SecretSource for AwsSecrets {
    type Error = SecretError;

    async fn get(&self, id: &str) -> Result<String, SecretError> {
        AwsSecrets::get(self, id).await
    }
}
