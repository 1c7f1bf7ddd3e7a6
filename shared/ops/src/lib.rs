//! What operators do to the system's queues, for both of their tools (`ctl` and the API's `/api/ops` routes):
//! name a queue and find its DLQ ([`target`]), list the work queues with their depths ([`queues`]), read a DLQ's
//! messages without consuming them ([`peek`]), and put a whole DLQ back with an SQS message move task
//! ([`redrive`], [`tasks`]).

pub mod peek;
pub mod queues;
pub mod redrive;
pub mod target;
pub mod tasks;

use bw_queue::Depth;

/// The AWS clients an operator's tool talks to, and the prefix of the system's queue names. Built once from one SDK
/// configuration (`AWS_ENDPOINT_URL` points it at LocalStack).
#[derive(Clone, Debug)]
pub struct Ops {
    /// SQS through the services' queue type, for what it already does (depth, ARN, URL lookup).
    pub queue: bw_queue::SqsQueue,
    /// For the work queues' `ApproximateAgeOfOldestMessage`.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// `QUEUE_PREFIX` (default `bw-`): the real name of queue `runs` is `{prefix}runs`.
    pub prefix: String,
}

impl Ops {
    pub fn from_config(config: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        Self {
            queue: bw_queue::SqsQueue::from_config(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            prefix: prefix.into(),
        }
    }

    /// The SQS client.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.queue.client()
    }

    /// The real name of the queue called `name` (`runs` is `{prefix}runs`).
    pub fn real_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The real names of the system's queues: each work queue, then its DLQ.
    pub fn known_names(&self) -> Vec<String> {
        bw_queue::definitions::ALL
            .iter()
            .flat_map(|def| [self.real_name(def.name), self.real_name(&format!("{}-dlq", def.name))])
            .collect()
    }

    /// The queue's visible, in-flight and delayed messages.
    pub async fn depth(&self, url: &str) -> anyhow::Result<Depth> {
        self.queue.depth(url).await
    }
}

/// Every message a depth counts: visible, in flight and delayed.
pub fn total(depth: &Depth) -> i64 {
    depth.visible + depth.in_flight + depth.delayed
}
