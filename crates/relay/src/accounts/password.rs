//! Passwords: argon2id hashes in the PHC format, checked in constant work (a missing agent is
//! checked against a dummy hash, so timing does not tell), on a bounded pool of their own:
//! each check costs about 19 MiB and tens of milliseconds of a core, so a flood of sign-ins
//! must neither exhaust memory nor take the threads (or the cores) other requests need.

use std::sync::{Arc, LazyLock};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use tokio::sync::Semaphore;

use crate::{error::ApiError, ids::fill_random};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password: {0}")]
pub struct HashError(String);

/// Hashes a password with argon2id and a fresh salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the agent does not exist, so timing does not tell.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a password").unwrap_or_default());

/// At most a few password checks at once (about one per core), and a bounded line of
/// sign-ins waiting for one; past that line a sign-in is refused at once (503), so a flood
/// costs a bounded amount of memory and never more than those cores. A sign-in from an
/// address someone signed in from before has a lane of its own (one check of its own, and
/// its own line), so an agent signing in at its desk is not stuck behind a flood of guesses
/// from addresses never seen to succeed.
#[derive(Clone)]
pub struct Hasher {
    /// The pool's threads: one per check that may run at once.
    pool: Arc<Pool>,
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    /// The lane of sign-ins from addresses someone signed in from before.
    known_running: Arc<Semaphore>,
    known_waiting: Arc<Semaphore>,
}

/// Which line a sign-in waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// From an address someone signed in from before (and not failing now).
    Known,
    /// From anywhere else.
    Other,
}

impl Hasher {
    /// `checks` at once, `line` more waiting (and one more check, with a line of `line`, for
    /// known addresses).
    pub fn new(checks: usize, line: usize) -> Hasher {
        let checks = checks.max(1);
        Hasher {
            pool: Arc::new(Pool::start(checks + 1)),
            running: Arc::new(Semaphore::new(checks)),
            waiting: Arc::new(Semaphore::new(checks + line)),
            known_running: Arc::new(Semaphore::new(1)),
            known_waiting: Arc::new(Semaphore::new(1 + line)),
        }
    }

    /// One per core the machine has, with a line of eight per core.
    pub fn per_core() -> Hasher {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hasher::new(cores, cores * 8)
    }

    /// Whether `password` matches `hash` (`None`: no such agent, checked against a dummy so
    /// both take the same time).
    pub async fn verify(
        &self,
        lane: Lane,
        hash: Option<String>,
        password: String,
    ) -> Result<bool, ApiError> {
        let (running, waiting) = match lane {
            Lane::Known => (&self.known_running, &self.known_waiting),
            Lane::Other => (&self.running, &self.waiting),
        };
        let _in_line = waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Unavailable("sign-in is busy; try again shortly".into()))?;
        let _running = running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal)?;
        self.pool
            .run(move || match hash {
                Some(h) => verify_password(&h, &password),
                None => {
                    verify_password(&DUMMY_HASH, &password);
                    false
                }
            })
            .await
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Threads of their own for password checks, at a lower scheduling priority than the relay's
/// other threads (nice 10): a flood of checks takes the cores only while nothing else wants
/// them, so the other requests keep their latency. The [`Hasher`]'s semaphores keep the work
/// given to it within its threads.
struct Pool {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl Pool {
    fn start(threads: usize) -> Pool {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let started = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    // Lowering one's own priority needs no privilege; if it fails, checks
                    // run at the normal priority, still bounded in number.
                    let me = Some(rustix::thread::gettid());
                    if let Err(e) = rustix::process::setpriority_process(me, 10) {
                        tracing::warn!(error = %e, "lowering the password threads' priority");
                    }
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = started {
                tracing::error!(error = %e, "starting a password thread");
            }
        }
        Pool { jobs }
    }

    /// Runs `check` on the pool and waits for its answer.
    async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Result<bool, ApiError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            answer.send(check()).ok();
        });
        // The channel has room for every check the semaphores let through, so this fails only
        // if the pool's threads are gone.
        self.jobs.try_send(job).map_err(|_| ApiError::Internal)?;
        answered.await.map_err(|_| ApiError::Internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
    }

    #[tokio::test]
    async fn a_full_line_of_password_checks_is_refused_at_once() {
        let hasher = Hasher::new(1, 1);
        let hash = hash_password("pw").unwrap();
        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (hasher, hash) = (hasher.clone(), hash.clone());
                tokio::spawn(
                    async move { hasher.verify(Lane::Other, Some(hash), "pw".into()).await },
                )
            })
            .collect();
        let mut refused = 0;
        for c in checks {
            match c.await.unwrap() {
                Ok(right) => assert!(right),
                Err(ApiError::Unavailable(_)) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(refused >= 1, "one running and one waiting at most");
    }
}
