//! The AWS clients `ctl` talks to: the operators' ones ([`bw_ops::Ops`]: SQS, CloudWatch, the queue prefix) and
//! Lambda, for the queues' event source mappings. One configuration builds them all (`AWS_ENDPOINT_URL` points them
//! at LocalStack).

/// `ctl`'s AWS clients.
#[derive(Clone, Debug)]
pub struct Aws {
    pub ops: bw_ops::Ops,
    pub lambda: aws_sdk_lambda::Client,
}

impl Aws {
    /// Clients from the environment; `prefix` is `QUEUE_PREFIX` (default `bw-`).
    pub async fn from_env(prefix: String) -> Self {
        let config = bw_aws::aws_config().await;
        Self { ops: bw_ops::Ops::from_config(&config, prefix), lambda: aws_sdk_lambda::Client::new(&config) }
    }
}
