//! The OpenAI key from AWS Secrets Manager, when `OPENAI_API_KEY_SECRET` names a secret instead of the key being in
//! `OPENAI_API_KEY` (as in the SAM stack).

pub use bw_secrets::AwsSecrets as Inner;

/// [`bw_secrets::AwsSecrets`] as the OpenAI client's secret source.
#[derive(Clone, Debug)]
pub struct AwsSecrets(Inner);

impl AwsSecrets {
    /// A client configured from the environment.
    pub async fn from_env() -> Self {
        Self(Inner::from_env().await)
    }

    /// A client from a configuration already loaded.
    pub fn from_config(config: &bw_queue::SdkConfig) -> Self {
        Self(Inner::from_config(config))
    }
}

impl bw_openai::SecretSource for AwsSecrets {
    type Error = String;

    async fn get(&self, name: &str) -> Result<String, String> {
        self.0.get(name).await
    }
}
