//! The system's work queues and their DLQs held in memory, for the operators' routes.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bw_api::seams::{QueueOps, Redrive};
use bw_ops::peek::Peeked;
use bw_ops::queues::{Dlq, WorkQueue};
use bw_ops::redrive::RedriveError;
use bw_ops::target::QueueRef;
use bw_ops::tasks::Task;
use bw_queue::Depth;
use bw_queue::definitions::{ALL, QueueDef};

/// One work queue: its messages, its consumers' state, what its DLQ holds, and a move task SQS would be running.
#[derive(Clone, Debug, Default)]
pub struct MemoryQueueState {
    pub depth: Depth,
    pub paused: bool,
    pub dead_letters: Vec<Peeked>,
    /// A message move task running on its DLQ: a redrive is refused while it is set.
    pub running_task: Option<Task>,
}

/// Every work queue of the system's definitions, named `{prefix}{name}`, with its DLQ `{prefix}{name}-dlq`. A
/// redrive moves the dead letters back at once and reports the task completed (a completed task keeps its handle
/// here, where SQS would drop it).
#[derive(Debug)]
pub struct MemoryOps {
    prefix: String,
    queues: Mutex<BTreeMap<&'static str, MemoryQueueState>>,
}

impl MemoryOps {
    pub fn new(prefix: &str) -> Self {
        let queues = ALL.iter().map(|def| (def.name, MemoryQueueState::default())).collect();
        Self { prefix: prefix.to_owned(), queues: Mutex::new(queues) }
    }

    /// Changes the state of the work queue `name` (`runs`, `llm-jobs`).
    pub fn update(&self, name: &str, change: impl FnOnce(&mut MemoryQueueState)) {
        if let Some(state) = self.lock().get_mut(name) {
            change(state);
        }
    }

    /// The state of the work queue `name`.
    pub fn state(&self, name: &str) -> Option<MemoryQueueState> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, MemoryQueueState>> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn queue_ref(&self, name: &str) -> QueueRef {
        let name = format!("{}{name}", self.prefix);
        QueueRef { url: format!("memory://queues/{name}"), arn: format!("arn:memory:sqs:{name}"), name }
    }
}

#[async_trait::async_trait]
impl QueueOps for MemoryOps {
    fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn queues(&self) -> anyhow::Result<Vec<WorkQueue>> {
        let queues = self.lock();
        Ok(ALL
            .iter()
            .filter_map(|def| queues.get(def.name).map(|state| (def, state)))
            .map(|(def, state)| WorkQueue {
                name: def.name,
                queue: self.queue_ref(def.name),
                depth: state.depth,
                oldest_age_secs: None,
                paused: state.paused,
                dlq: Some(Dlq {
                    queue: self.queue_ref(&format!("{}-dlq", def.name)),
                    depth: Depth {
                        visible: i64::try_from(state.dead_letters.len()).unwrap_or(i64::MAX),
                        ..Depth::default()
                    },
                }),
            })
            .collect())
    }

    async fn peek(&self, queue: &QueueDef, limit: usize) -> anyhow::Result<Vec<Peeked>> {
        let queues = self.lock();
        let state = queues.get(queue.name).ok_or_else(|| anyhow::anyhow!("no queue {}", queue.name))?;
        Ok(state.dead_letters.iter().take(limit).cloned().collect())
    }

    async fn redrive(&self, queue: &QueueDef, dry_run: bool) -> Result<Redrive, RedriveError> {
        let destination = self.queue_ref(queue.name).name;
        let dlq = self.queue_ref(&format!("{}-dlq", queue.name)).name;
        let mut queues = self.lock();
        let state = queues.get_mut(queue.name).ok_or_else(|| anyhow::anyhow!("no queue {}", queue.name))?;
        // As SQS's: a dry run, or an empty DLQ, starts nothing whatever runs; else a running task refuses another.
        let messages = i64::try_from(state.dead_letters.len()).unwrap_or(i64::MAX);
        if dry_run || messages == 0 {
            return Ok(Redrive { dlq, messages, destination, started: None, task: None });
        }
        if let Some(task) = state.running_task.clone() {
            return Err(RedriveError::AlreadyRunning(Box::new(task)));
        }
        state.dead_letters.clear();
        state.depth.visible += messages;
        let handle = format!("memory-task-{}", queue.name);
        let task = Task {
            dlq: dlq.clone(),
            task_handle: Some(handle.clone()),
            status: "COMPLETED".to_owned(),
            destination: Some(destination.clone()),
            moved: messages,
            to_move: Some(messages),
            max_per_second: None,
            started_at: None,
            failure_reason: None,
        };
        Ok(Redrive { dlq, messages, destination, started: Some(handle), task: Some(task) })
    }
}
