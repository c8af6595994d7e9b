//! The threads that prepare articles (render, sanitise, compress): two,
//! shared by every batch and feed.
//!
//! Two because the machines Gazette is sized for have two cores. Not
//! tokio's blocking pool, which starts a thread for every task waiting:
//! each thread that renders keeps allocator pages of its own, and four
//! small batches at once, each on three threads, took several times their
//! size in memory. A job runs to its end whether or not its caller is
//! still waiting, so no caller can hold a worker by not asking for its
//! result.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Barrier, Mutex, OnceLock};

/// Threads preparing articles at once.
pub const WORKERS: usize = 2;

type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on a preparing thread; a panic in it is an error.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = answer.send(std::panic::catch_unwind(AssertUnwindSafe(work)));
    });
    queue()
        .send(job)
        .map_err(|_| anyhow::anyhow!("the preparing threads have stopped"))?;
    answered
        .await
        .map_err(|_| anyhow::anyhow!("a preparing thread stopped"))?
        .map_err(|_| anyhow::anyhow!("preparing an article panicked"))
}

/// Runs `work` once on every preparing thread (each waits for the others,
/// so none takes two), when each is next free.
pub async fn run_on_each(work: fn()) -> anyhow::Result<()> {
    // One call at a time, so one call's jobs are next to each other in the
    // queue: two calls' jobs interleaved would each hold a thread at its
    // own barrier, waiting for the other forever.
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let all_here = Arc::new(Barrier::new(WORKERS));
    let jobs = (0..WORKERS).map(|_| {
        let all_here = Arc::clone(&all_here);
        run(move || {
            all_here.wait();
            work();
        })
    });
    futures_util::future::try_join_all(jobs).await.map(|_| ())
}

fn queue() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..WORKERS {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("gazette-prepare-{n}"))
                .spawn(move || {
                    loop {
                        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = started {
                tracing::error!(%err, "cannot start a preparing thread");
            }
        }
        queue
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_and_a_panic_is_an_error() {
        assert_eq!(run(|| 6 * 7).await.unwrap(), 42);
        assert!(run(|| -> u8 { panic!("boom") }).await.is_err());
        // The worker that caught the panic still works.
        let answers: Vec<_> = futures_util::future::join_all((0..8).map(|n| run(move || n))).await;
        assert_eq!(
            answers.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn work_for_each_thread_runs_on_every_thread_once() {
        static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
        fn note_thread() {
            let name = std::thread::current().name().unwrap_or_default().to_owned();
            SEEN.lock().unwrap().push(name);
        }
        run_on_each(note_thread).await.unwrap();
        let mut seen = SEEN.lock().unwrap().clone();
        seen.sort();
        let expected: Vec<String> = (0..WORKERS).map(|n| format!("gazette-prepare-{n}")).collect();
        assert_eq!(seen, expected);
        // Several at once (each server in a test process has its own
        // budget, all share these threads) take turns instead of holding
        // the threads at each other's barriers.
        let at_once = futures_util::future::join_all((0..4).map(|_| run_on_each(note_thread)));
        let finished = tokio::time::timeout(std::time::Duration::from_secs(10), at_once)
            .await
            .expect("calls at once finish");
        assert!(finished.iter().all(Result::is_ok));
        assert_eq!(SEEN.lock().unwrap().len(), WORKERS * 5);
    }
}
