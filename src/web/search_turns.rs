//! Turns to run searches, shared fairly between clients.
//!
//! Search is public and a computed search can cost a hundred milliseconds
//! of a core, so one visitor sending many at once could occupy every turn
//! and make everyone else wait behind them. Here each client (an address,
//! see [`ClientAddr::limit_key`]) runs one search at a time and may have a
//! few more waiting; past that it is told to come back later (429). When a
//! turn frees up, it goes to the next client in rotation, not to whoever
//! queued most: a client waits behind at most one search of each other
//! client, never behind another's queue. And a client rests after each
//! search as long as the search took before its next one starts, so one
//! client keeps at most half a core busy however fast it sends: the rest
//! of the machine is left to everyone else. Pages never wait here:
//! searches take at most half of the database's read connections.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::client::ClientAddr;

/// Searches one client may have waiting behind its running one.
pub const WAITING_PER_CLIENT: usize = 2;

/// Searches waiting over all clients: past it, more are refused at once
/// rather than queued without bound (a crowd of addresses).
const WAITING_IN_ALL: usize = 256;

/// How long a refused client is asked to wait: about one search's time
/// several times over.
pub const RETRY_AFTER_SECS: u64 = 1;

/// How long a refusal takes to be answered: a client that ignores
/// Retry-After on many connections would otherwise make the refusals a
/// flood of their own (4,000 a second from 32 connections, measured).
const REFUSAL_PAUSE: Duration = Duration::from_millis(500);

/// Refusals held in their pause at once: past it they are answered at
/// once, so that paused refusals cannot fill the server's request slots
/// (`--max-concurrent-requests`) for everyone else.
const PAUSING_AT_MOST: usize = 64;

/// The turns of one server.
pub struct SearchTurns {
    /// Searches running at once over all clients.
    slots: usize,
    state: Mutex<State>,
    /// Refusals in their pause now.
    pausing: AtomicUsize,
}

#[derive(Default)]
struct State {
    running: usize,
    waiting: usize,
    clients: HashMap<IpAddr, Client>,
    /// Clients with a search waiting, in the order their turns come.
    rotation: VecDeque<IpAddr>,
    /// When a wake-up is due for a client whose rest ends then.
    wake_at: Option<Instant>,
}

struct Client {
    running: bool,
    /// Its next search starts no sooner (the rest after its last).
    rested_at: Instant,
    queue: VecDeque<oneshot::Sender<Turn>>,
}

impl Client {
    fn new() -> Self {
        Client {
            running: false,
            rested_at: Instant::now(),
            queue: VecDeque::new(),
        }
    }

    fn ready(&self, now: Instant) -> bool {
        !self.running && self.rested_at <= now
    }
}

/// A running search: the turn passes on when it is dropped.
pub struct Turn {
    turns: Arc<SearchTurns>,
    client: IpAddr,
    started: Instant,
    /// False for a turn that was never handed over (its waiter had gone).
    held: bool,
}

/// A client asked for more than its share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverShare;

impl SearchTurns {
    pub fn new(slots: usize) -> Arc<Self> {
        Arc::new(SearchTurns {
            slots: slots.max(1),
            state: Mutex::new(State::default()),
            pausing: AtomicUsize::new(0),
        })
    }

    /// Waits for `client`'s turn, or refuses at once when the client
    /// already has its share running and waiting.
    pub async fn turn(self: &Arc<Self>, client: ClientAddr) -> Result<Turn, OverShare> {
        let key = client.limit_key();
        let receiver = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let now = Instant::now();
            let entry = state.clients.entry(key).or_insert_with(Client::new);
            // Waiters whose requests went away (a closed connection, the
            // request time-out) no longer count.
            let queued = entry.queue.len();
            entry.queue.retain(|waiter| !waiter.is_closed());
            state.waiting -= queued - entry.queue.len();
            if entry.ready(now) && entry.queue.is_empty() && state.running < self.slots {
                entry.running = true;
                state.running += 1;
                return Ok(Turn {
                    turns: Arc::clone(self),
                    client: key,
                    started: now,
                    held: true,
                });
            }
            if entry.queue.len() >= WAITING_PER_CLIENT || state.waiting >= WAITING_IN_ALL {
                return Err(OverShare);
            }
            let (sender, receiver) = oneshot::channel();
            entry.queue.push_back(sender);
            if !state.rotation.contains(&key) {
                state.rotation.push_back(key);
            }
            state.waiting += 1;
            self.hand_over(state);
            receiver
        };
        // The turn is sent, not granted in place: a waiter dropped after
        // its turn was sent drops the turn with it, which passes it on.
        receiver.await.map_err(|_| OverShare)
    }

    /// The pause before a refusal is answered (see [`REFUSAL_PAUSE`]).
    pub async fn pause_refusal(&self) {
        struct Pausing<'a>(&'a AtomicUsize);
        impl Drop for Pausing<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if self.pausing.fetch_add(1, Ordering::AcqRel) >= PAUSING_AT_MOST {
            self.pausing.fetch_sub(1, Ordering::AcqRel);
            return;
        }
        let _pausing = Pausing(&self.pausing);
        tokio::time::sleep(REFUSAL_PAUSE).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Gives free slots to waiting clients, one search per client in
    /// rotation; a client whose search is still running keeps its place.
    fn hand_over(self: &Arc<Self>, state: &mut State) {
        let now = Instant::now();
        let mut passes = state.rotation.len();
        while state.running < self.slots && passes > 0 {
            passes -= 1;
            let Some(key) = state.rotation.pop_front() else {
                break;
            };
            let Some(client) = state.clients.get_mut(&key) else {
                continue;
            };
            if !client.ready(now) {
                state.rotation.push_back(key);
                continue;
            }
            let mut handed = false;
            while let Some(waiter) = client.queue.pop_front() {
                state.waiting -= 1;
                let turn = Turn {
                    turns: Arc::clone(self),
                    client: key,
                    started: now,
                    held: true,
                };
                match waiter.send(turn) {
                    Ok(()) => {
                        handed = true;
                        break;
                    }
                    // The request went away: not a turn to pass on twice.
                    Err(mut unsent) => unsent.held = false,
                }
            }
            if handed {
                client.running = true;
                state.running += 1;
                // Its next waiter, if any, runs after the others' turns.
                passes = state.rotation.len() + 1;
            }
            if !client.queue.is_empty() {
                state.rotation.push_back(key);
            }
        }
        // A client whose rest is over and who wants nothing is forgotten.
        state
            .clients
            .retain(|_, client| client.running || !client.queue.is_empty() || client.rested_at > now);
        self.wake_after_rest(state, now);
    }

    /// With a slot free and a client waiting out its rest, nothing else
    /// would hand its turn over when the rest ends: a timer does.
    fn wake_after_rest(self: &Arc<Self>, state: &mut State, now: Instant) {
        if state.running >= self.slots {
            return;
        }
        let Some(due) = state
            .clients
            .values()
            .filter(|client| !client.running && !client.queue.is_empty())
            .map(|client| client.rested_at)
            .min()
        else {
            return;
        };
        if due <= now || state.wake_at.is_some_and(|at| at <= due) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        state.wake_at = Some(due);
        let turns = Arc::clone(self);
        runtime.spawn(async move {
            tokio::time::sleep_until(due.into()).await;
            let mut state = turns.lock();
            state.wake_at = None;
            turns.hand_over(&mut state);
        });
    }

    /// Searches running now, and waiting (for the metrics and tests).
    pub fn load(&self) -> (usize, usize) {
        let state = self.lock();
        (state.running, state.waiting)
    }
}

/// A client rests this many times as long as its search took.
const REST_PER_SEARCH_TIME: u32 = 1;

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.held {
            return;
        }
        let turns = Arc::clone(&self.turns);
        let mut state = turns.lock();
        state.running -= 1;
        if let Some(client) = state.clients.get_mut(&self.client) {
            client.running = false;
            let took = self.started.elapsed().min(MAX_REST);
            client.rested_at = Instant::now() + took * REST_PER_SEARCH_TIME;
        }
        turns.hand_over(&mut state);
    }
}

/// The longest rest: a search held up by the machine (a stalled disk)
/// does not bench its client for long.
const MAX_REST: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn client(n: u8) -> ClientAddr {
        ClientAddr(IpAddr::from([192, 0, 2, n]))
    }

    #[tokio::test]
    async fn one_running_search_per_client_and_a_short_queue() {
        let turns = SearchTurns::new(2);
        let first = turns.turn(client(1)).await.unwrap();
        // The flooder's next searches wait, and past its share are refused.
        let waiting: Vec<_> = (0..WAITING_PER_CLIENT)
            .map(|_| {
                let turns = Arc::clone(&turns);
                tokio::spawn(async move { turns.turn(client(1)).await.map(|_| ()) })
            })
            .collect();
        tokio::task::yield_now().await;
        while turns.load().1 < WAITING_PER_CLIENT {
            tokio::task::yield_now().await;
        }
        assert_eq!(turns.turn(client(1)).await.err(), Some(OverShare));
        // Another client runs at once, beside the flooder's search.
        let other = turns.turn(client(2)).await.unwrap();
        assert_eq!(turns.load(), (2, WAITING_PER_CLIENT));
        drop(other);
        drop(first);
        for waiter in waiting {
            waiter.await.unwrap().unwrap();
        }
        assert_eq!(turns.load(), (0, 0));
    }

    #[tokio::test]
    async fn a_freed_turn_goes_to_the_next_client_not_the_longest_queue() {
        let turns = SearchTurns::new(1);
        let flooder = turns.turn(client(1)).await.unwrap();
        let (order_tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for who in [1, 1, 2] {
            let (mine, order_tx) = (Arc::clone(&turns), order_tx.clone());
            tasks.push(tokio::spawn(async move {
                let turn = mine.turn(client(who)).await.unwrap();
                order_tx.send(who).unwrap();
                tokio::task::yield_now().await;
                drop(turn);
            }));
            // Queued in this order: the flooder twice, then the other client.
            while turns.load().1 < tasks.len() {
                tokio::task::yield_now().await;
            }
        }
        drop(flooder);
        for task in tasks {
            task.await.unwrap();
        }
        let served: Vec<u8> = std::iter::from_fn(|| order.try_recv().ok()).collect();
        // The other client is served before the flooder's queue is done
        // (first, if the flooder is still resting after its search).
        assert_eq!(served.len(), 3);
        assert!(served.iter().position(|&c| c == 2) < Some(2), "{served:?}");
    }

    #[tokio::test]
    async fn a_client_rests_as_long_as_its_search_took() {
        let turns = SearchTurns::new(2);
        let first = turns.turn(client(1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        drop(first);
        // Its next search waits out the rest; another client's does not.
        let started = Instant::now();
        let other = turns.turn(client(2)).await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(30));
        drop(other);
        let _next = turns.turn(client(1)).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "rested {waited:?}");
        assert!(waited < Duration::from_millis(1000), "rested {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_pause_but_never_more_than_so_many_at_once() {
        let turns = SearchTurns::new(1);
        let started = tokio::time::Instant::now();
        let pauses: Vec<_> = (0..PAUSING_AT_MOST + 10)
            .map(|_| {
                let turns = Arc::clone(&turns);
                tokio::spawn(async move {
                    turns.pause_refusal().await;
                    tokio::time::Instant::now() - started
                })
            })
            .collect();
        let mut waited = Vec::new();
        for pause in pauses {
            waited.push(pause.await.unwrap());
        }
        let paused = waited.iter().filter(|w| **w >= REFUSAL_PAUSE).count();
        assert_eq!(paused, PAUSING_AT_MOST, "{waited:?}");
        assert_eq!(turns.pausing.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_goes_away_gives_up_its_place() {
        let turns = SearchTurns::new(1);
        let running = turns.turn(client(1)).await.unwrap();
        let gone = {
            let turns = Arc::clone(&turns);
            tokio::spawn(async move { turns.turn(client(2)).await.map(|_| ()) })
        };
        while turns.load().1 < 1 {
            tokio::task::yield_now().await;
        }
        gone.abort();
        let _ = gone.await;
        drop(running);
        assert_eq!(turns.load(), (0, 0));
        let _next = turns.turn(client(3)).await.unwrap();
        assert_eq!(turns.load(), (1, 0));
    }
}
