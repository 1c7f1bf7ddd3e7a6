//! Secrets from AWS Secrets Manager (or LocalStack, through `AWS_ENDPOINT_URL`), read at start-up by the services
//! that are given a secret's name instead of its value.

use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// Reads secrets from AWS Secrets Manager.
#[derive(Clone, Debug)]
pub struct AwsSecrets {
    client: aws_sdk_secretsmanager::Client,
}

impl AwsSecrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// A client configured from the environment, with the system's timeouts ([`bw_queue::aws_config`]).
    pub async fn from_env() -> Self {
        Self::from_config(&bw_queue::aws_config().await)
    }

    /// A client from a configuration already loaded.
    pub fn from_config(config: &bw_queue::SdkConfig) -> Self {
        Self::new(aws_sdk_secretsmanager::Client::new(config))
    }

    /// The string value of the secret `name` (a name or an ARN), or an error naming it and the cause.
    pub async fn get(&self, name: &str) -> Result<String, String> {
        let out =
            self.client.get_secret_value().secret_id(name).send().await.map_err(|e| {
                format!("cannot read secret {name:?} from Secrets Manager: {}", DisplayErrorContext(&e))
            })?;
        out.secret_string.ok_or_else(|| format!("secret {name:?} holds no string"))
    }
}
