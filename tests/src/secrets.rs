//! A Secrets Manager secret (LocalStack's) for one test or benchmark, deleted when dropped.

use anyhow::Context as _;

pub struct TestSecret {
    client: aws_sdk_secretsmanager::Client,
    pub name: String,
}

impl TestSecret {
    /// Creates a secret `{label}-{random}` holding `value`.
    pub async fn create(label: &str, value: &str) -> anyhow::Result<Self> {
        let client = aws_sdk_secretsmanager::Client::new(&bw_aws::aws_config().await);
        let name = format!("{label}-{}", uuid::Uuid::new_v4().simple());
        client
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .with_context(|| format!("cannot create secret {name} (is LocalStack running?)"))?;
        Ok(Self { client, name })
    }
}

impl Drop for TestSecret {
    fn drop(&mut self) {
        let (client, name) = (self.client.clone(), self.name.clone());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = client.delete_secret().secret_id(name).force_delete_without_recovery(true).send().await;
            });
        }
    }
}
