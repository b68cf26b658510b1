//! Throttling of the requests that cost a password hash (sign-in and
//! registration), so that guessing passwords is slow and a flood of them
//! cannot take the server's threads and memory:
//!
//! - per client address, and per account for addresses the account has not
//!   signed in from before, rate limits (`governor`'s keyed GCRA limiters:
//!   a burst, then a steady rate);
//! - per account and address, an exponential lockout after wrong passwords
//!   in a row.
//!
//! Locking is per address so that someone guessing a victim's password
//! locks themselves out, not the victim: an address the account signed in
//! from (in the last [`KNOWN_FOR`]) is exempt from the account-wide rate,
//! which is what bounds guessing spread over many addresses. A victim on a
//! new address during such an attack waits for the account's rate, never
//! for a lock.
//!
//! - Argon2 runs on its own few threads (`AuthLimits::hash_concurrency`,
//!   half the cores by default) fed by a bounded queue: a flood of sign-ins
//!   neither takes the blocking pool the database calls share nor holds
//!   more than that many 19 MiB hash buffers (nor leaves them in the
//!   allocator arenas of hundreds of threads).
//!
//! Every refusal is a [`Throttled`] with the time after which a retry can
//! succeed (the `Retry-After` header).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{mpsc, oneshot};

use crate::config::AuthLimits;

/// A refused attempt: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
}

/// How long an address that signed in to an account stays known for it.
pub(crate) const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// An account (normalised email) at a client address.
type Pair = (String, IpAddr);

/// Wrong passwords in a row for one account from one address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// The throttles of one server.
pub(crate) struct AuthThrottle {
    limits: AuthLimits,
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    failures: Mutex<HashMap<Pair, Failures>>,
    /// When each account last signed in from each address.
    known: Mutex<HashMap<Pair, Instant>>,
    hashing: mpsc::Sender<HashJob>,
}

type HashJob = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for AuthThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthThrottle").finish_non_exhaustive()
    }
}

fn quota(burst: u32, interval: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
    Quota::with_period(interval.max(Duration::from_millis(1)))
        .expect("a positive period")
        .allow_burst(burst)
}

impl AuthThrottle {
    pub(crate) fn new(limits: AuthLimits) -> Self {
        let (hashing, jobs) = mpsc::channel::<HashJob>(limits.hash_queue.max(1));
        let jobs = std::sync::Arc::new(Mutex::new(jobs));
        for i in 0..limits.hash_concurrency.max(1) {
            let jobs = jobs.clone();
            // The threads stop when the throttle (the only sender) is dropped.
            let _ = std::thread::Builder::new()
                .name(format!("candor-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = jobs
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .blocking_recv();
                        match job {
                            Some(job) => job(),
                            None => return,
                        }
                    }
                });
        }
        Self {
            by_ip: RateLimiter::keyed(quota(limits.ip_burst, limits.ip_interval)),
            by_account: RateLimiter::keyed(quota(limits.account_burst, limits.account_interval)),
            failures: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            hashing,
            limits,
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<Pair, Failures>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known(&self) -> std::sync::MutexGuard<'_, HashMap<Pair, Instant>> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One attempt from `ip`.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), Throttled> {
        self.by_ip.check_key(&ip).map_err(|not_until| Throttled {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }

    /// One sign-in attempt for `account` (a normalised email) from `ip`.
    pub(crate) fn check_account(&self, account: &str, ip: IpAddr) -> Result<(), Throttled> {
        let now = Instant::now();
        let pair = (account.to_owned(), ip);
        if let Some(until) = self.failures().get(&pair).and_then(|f| f.locked_until)
            && until > now
        {
            return Err(Throttled {
                retry_after: until - now,
            });
        }
        if self
            .known()
            .get(&pair)
            .is_some_and(|at| now.saturating_duration_since(*at) < KNOWN_FOR)
        {
            return Ok(());
        }
        self.by_account
            .check_key(&account.to_owned())
            .map_err(|not_until| Throttled {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    /// A wrong password for `account` from `ip`: past `lockout_after` in a
    /// row, the account locks for that address for 1 s, then 2 s, 4 s, … up
    /// to `lockout_max`.
    pub(crate) fn failed(&self, account: &str, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures();
        let f = map.entry((account.to_owned(), ip)).or_insert(Failures {
            count: 0,
            locked_until: None,
            last: now,
        });
        f.count += 1;
        f.last = now;
        if let Some(over) = f.count.checked_sub(self.limits.lockout_after)
            && over > 0
        {
            let lock = Duration::from_secs(1u64 << (over - 1).min(30)).min(self.limits.lockout_max);
            f.locked_until = Some(now + lock);
        }
    }

    /// The right password: the count starts again, and the address is known
    /// for the account.
    pub(crate) fn succeeded(&self, account: &str, ip: IpAddr) {
        let pair = (account.to_owned(), ip);
        self.failures().remove(&pair);
        self.known().insert(pair, Instant::now());
    }

    /// Runs `hash` (Argon2) on a hashing thread; refused at once when the
    /// queue for them is full.
    pub(crate) async fn hash<T: Send + 'static>(
        &self,
        hash: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Throttled> {
        let busy = Throttled {
            retry_after: Duration::from_secs(1),
        };
        let (tx, rx) = oneshot::channel();
        self.hashing
            .try_send(Box::new(move || {
                let _ = tx.send(hash());
            }))
            .map_err(|_| busy)?;
        rx.await.map_err(|_| busy)
    }

    /// Forgets limiter state that no longer limits anyone (bounds memory
    /// under a flood of distinct addresses or emails).
    pub(crate) fn prune(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
        self.by_ip.shrink_to_fit();
        self.by_account.shrink_to_fit();
        let now = Instant::now();
        let keep = self.limits.lockout_max.max(Duration::from_secs(3600));
        self.failures()
            .retain(|_, f| now.saturating_duration_since(f.last) < keep);
        self.known()
            .retain(|_, at| now.saturating_duration_since(*at) < KNOWN_FOR);
    }
}

/// The client's address: the peer's, or behind a trusted reverse proxy the
/// last `X-Forwarded-For` entry (the one the proxy itself added).
pub(crate) fn client_ip(
    trust_forwarded_for: bool,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return ip;
    }
    peer.ip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AuthLimits {
        AuthLimits {
            ip_burst: 3,
            ip_interval: Duration::from_secs(60),
            account_burst: 100,
            account_interval: Duration::from_secs(1),
            lockout_after: 2,
            lockout_max: Duration::from_secs(4),
            hash_concurrency: 1,
            hash_queue: 4,
        }
    }

    #[test]
    fn an_address_gets_its_burst_then_waits() {
        let t = AuthThrottle::new(limits());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            t.check_ip(ip).unwrap();
        }
        let refused = t.check_ip(ip).unwrap_err();
        assert!(refused.retry_after > Duration::from_secs(10));
        t.check_ip("192.0.2.2".parse().unwrap()).unwrap();
    }

    #[test]
    fn wrong_passwords_lock_the_account_exponentially_for_that_address() {
        let t = AuthThrottle::new(limits());
        let attacker: IpAddr = "192.0.2.66".parse().unwrap();
        let victim: IpAddr = "198.51.100.1".parse().unwrap();
        let mut locks = Vec::new();
        for _ in 0..6 {
            t.check_account("a@example.org", attacker).ok();
            t.failed("a@example.org", attacker);
            locks.push(t.failures()[&("a@example.org".to_owned(), attacker)].locked_until);
        }
        assert!(locks[..2].iter().all(Option::is_none));
        let secs: Vec<u64> = locks[2..]
            .iter()
            .map(|l| (l.unwrap() - Instant::now()).as_secs_f64().round() as u64)
            .collect();
        assert_eq!(secs, [1, 2, 4, 4], "doubling up to the maximum");
        assert!(t.check_account("a@example.org", attacker).is_err());
        assert!(t.check_account("b@example.org", attacker).is_ok());
        // The owner, elsewhere, is not locked out by the guesses.
        assert!(t.check_account("a@example.org", victim).is_ok());
        t.succeeded("a@example.org", attacker);
        assert!(t.check_account("a@example.org", attacker).is_ok());
    }

    #[test]
    fn guesses_from_many_addresses_meet_the_account_rate_but_a_known_address_does_not() {
        let t = AuthThrottle::new(AuthLimits {
            account_burst: 3,
            account_interval: Duration::from_secs(60),
            ..limits()
        });
        let home: IpAddr = "198.51.100.1".parse().unwrap();
        t.check_account("a@example.org", home).unwrap();
        t.succeeded("a@example.org", home);
        // A botnet: one guess per address, never a lock, yet the account's
        // rate holds them.
        let refused = (0..10u8)
            .filter(|i| {
                let ip = IpAddr::from([203, 0, 113, *i]);
                let r = t.check_account("a@example.org", ip);
                t.failed("a@example.org", ip);
                r.is_err()
            })
            .count();
        assert_eq!(refused, 8, "3 in the burst, one spent by the owner");
        // The owner at home signs in regardless.
        assert!(t.check_account("a@example.org", home).is_ok());
        // A new address of the owner's waits for the account's rate.
        let cafe: IpAddr = "192.0.2.200".parse().unwrap();
        assert!(t.check_account("a@example.org", cafe).is_err());
    }

    #[tokio::test]
    async fn hashing_waits_are_bounded() {
        let t = AuthThrottle::new(limits());
        assert_eq!(t.hash(|| 2).await, Ok(2));
        // One thread busy, one job waiting: the next is refused at once.
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let t = std::sync::Arc::new(AuthThrottle::new(AuthLimits {
            hash_queue: 1,
            ..limits()
        }));
        let busy = tokio::spawn({
            let t = t.clone();
            async move {
                t.hash(move || {
                    let _ = started_tx.send(());
                    gate.recv().is_ok()
                })
                .await
            }
        });
        started.await.unwrap();
        let queued = tokio::spawn({
            let t = t.clone();
            async move { t.hash(|| 3).await }
        });
        // The test runtime has one thread: yielding runs the task up to its
        // wait, its job queued.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(t.hash(|| 4).await.is_err(), "the queue is full");
        release.send(()).unwrap();
        assert_eq!(busy.await.unwrap(), Ok(true));
        assert_eq!(queued.await.unwrap(), Ok(3));
    }

    #[test]
    fn forwarded_addresses_only_when_trusted() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        assert_eq!(client_ip(false, peer, &h), peer.ip());
        assert_eq!(
            client_ip(true, peer, &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(true, peer, &HeaderMap::new()), peer.ip());
    }
}
